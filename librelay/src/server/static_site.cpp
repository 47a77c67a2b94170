#include <relay/server/static_site.hpp>

#include <relay/auth/crypto.hpp>

#include <fstream>
#include <sstream>
#include <system_error>

namespace relay::server {

void static_site::add(std::string path, std::string content)
{
    file f;
    f.content_type = content_type_for(path);
    // 16 bytes of SHA-256: a strong validator that changes with every edit of the file.
    f.etag = "\"" + auth::sha256_hex(content).substr(0, 32) + "\"";
    f.content = std::move(content);
    files_.insert_or_assign(std::move(path), std::move(f));
}

static_site::file const* static_site::find(std::string_view path) const
{
    auto it = files_.find(path);
    return it == files_.end() ? nullptr : &it->second;
}

std::shared_ptr<static_site> static_site::from_directory(std::filesystem::path const& dir, std::string& why)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    auto site = std::make_shared<static_site>();
    fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        // A development folder also holds what is not the site: dotfiles and dot-folders (.git,
        // an editor's .x.swp), editor backups (x~, #x#), and symlinks that may point anywhere.
        // Serve only regular files under ordinary names, as the embedded build would have them.
        auto name = it->path().filename().string();
        bool hidden = name.starts_with('.') || name.ends_with('~') || name.starts_with('#');
        auto status = it->symlink_status(ec);
        if (ec)
            break;
        if (hidden && fs::is_directory(status))
            it.disable_recursion_pending();
        if (hidden || !fs::is_regular_file(status))
            continue;
        std::ifstream in(it->path(), std::ios::binary);
        std::ostringstream content;
        content << in.rdbuf();
        if (!in) {
            why = "cannot read " + it->path().string();
            return nullptr;
        }
        site->add(it->path().lexically_relative(dir).generic_string(), std::move(content).str());
    }
    if (ec) {
        why = "cannot read " + dir.string() + ": " + ec.message();
        return nullptr;
    }
    if (!site->find("index.html")) {
        why = dir.string() + " holds no index.html";
        return nullptr;
    }
    return site;
}

std::string_view content_type_for(std::string_view path) noexcept
{
    struct entry {
        std::string_view extension, type;
    };
    static constexpr entry types[] = {
        {".html", "text/html; charset=utf-8"},     {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},             {".svg", "image/svg+xml"},
        {".png", "image/png"},                      {".ico", "image/x-icon"},
        {".webmanifest", "application/manifest+json"}, {".txt", "text/plain; charset=utf-8"},
        {".md", "text/markdown; charset=utf-8"},
    };
    for (auto const& [extension, type] : types)
        if (path.size() > extension.size() && path.ends_with(extension))
            return type;
    return "application/octet-stream";
}

} // namespace relay::server
