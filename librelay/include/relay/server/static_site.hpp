#pragma once
/** @file Files the relay serves to browsers as they are (the web console, relayd's
 * `relayd/console/`): held in memory, looked up by their path inside the site. An embedder hands
 * one to the server as `parts::console`; without one, nothing is served at `/console/`. */
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace relay::server {

class static_site {
public:
    struct file {
        std::string content;
        std::string_view content_type; ///< from the extension (content_type_for)
        std::string etag;              ///< a strong validator of the content, quoted
    };

    /** Adds (or replaces) the file at `path`, relative to the site and without a leading '/'
     * ("index.html", "js/app.js"). */
    void add(std::string path, std::string content);

    /** The file at `path` (relative, undecoded '/'-separated segments), or null. */
    file const* find(std::string_view path) const;

    std::size_t size() const noexcept { return files_.size(); }

    /**
     * Every regular file under `dir`, read now (a development console served from the source
     * tree: RELAY_CONSOLE_DIR). Null with `why` set when `dir` cannot be read or holds no
     * index.html.
     */
    static std::shared_ptr<static_site> from_directory(std::filesystem::path const& dir, std::string& why);

private:
    std::map<std::string, file, std::less<>> files_;
};

/**
 * The Content-Security-Policy of every console file: no inline script or style, no eval,
 * nothing from another origin; the console talks only to its own origin (the API and /ws/app;
 * 'self' covers ws:/wss: of the same host, CSP Level 3) and video arrives as a MediaStream.
 * docs/console.md explains what it forbids.
 */
inline constexpr std::string_view console_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The Content-Type for a file name by its extension; application/octet-stream when unknown. */
std::string_view content_type_for(std::string_view path) noexcept;

} // namespace relay::server
