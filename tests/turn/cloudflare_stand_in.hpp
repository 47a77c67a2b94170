#pragma once
// A local HTTPS stand-in for Cloudflare's generate-ice-servers endpoint: Beast + OpenSSL on
// 127.0.0.1, answering from a script, and recording what it was sent.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace turn_test {

/** What the stand-in received. */
struct recorded_request {
    std::string method;
    std::string target;
    std::string authorization;
    std::string content_type;
    std::string host;
    std::string body;
};

/** How the stand-in answers one request. */
struct canned_reply {
    unsigned status = 201;
    std::string body;
    std::chrono::milliseconds delay{0}; ///< wait this long before answering
    bool hang = false;                  ///< never answer (until the stand-in stops)
};

/** Cloudflare's 201 body as it answers today: a STUN entry and a TURN entry with the given
 * credential, each with Cloudflare's alternates on port 53 (and 80/443 for TURN), in Cloudflare's
 * order (TLS 5349 before 443), so normalization has something to drop and to reorder. */
std::string cloudflare_body(std::string const& username, std::string const& credential);

class cloudflare_stand_in {
public:
    /** Listens on 127.0.0.1 (a free port) with the given PEM certificate and key. */
    cloudflare_stand_in(std::string const& cert_file, std::string const& key_file);
    ~cloudflare_stand_in();
    cloudflare_stand_in(cloudflare_stand_in const&) = delete;
    cloudflare_stand_in& operator=(cloudflare_stand_in const&) = delete;

    std::uint16_t port() const noexcept;
    /** "https://127.0.0.1:<port>/v1", the RELAY_CF_API_BASE pointing here. */
    std::string base_url() const;

    /** Answers for the next requests, in order; after them, the default. */
    void script(std::vector<canned_reply> replies);
    /** The answer once the script is used up (initially 201 with cloudflare_body("user-1","cred-1")). */
    void set_default(canned_reply reply);

    std::vector<recorded_request> requests() const;
    std::size_t request_count() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/** A loopback TCP port nothing listens on (a Cloudflare that is down). */
std::uint16_t closed_port();

} // namespace turn_test
