#pragma once
/** @file
 * The provider for RELAY_TURN_PROVIDER=cloudflare: credentials issued by Cloudflare Realtime's
 * TURN API. Cloudflare accepts only credentials it issued; self-signed HMAC credentials are
 * refused with STUN error 401, which is what broke robots' video before this provider existed.
 */
#include <relay/turn/provider.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace relay::telemetry {
class logger;
class registry;
} // namespace relay::telemetry

namespace relay::turn {

/** The longest credential lifetime Cloudflare issues (48 h); longer requests are capped. */
inline constexpr std::chrono::seconds cloudflare_max_ttl{172800};

struct cloudflare_options {
    std::string key_id;    ///< RELAY_CF_TURN_KEY_ID (letters, digits, '-', '_')
    std::string api_token; ///< RELAY_CF_TURN_API_TOKEN; sent only as the bearer token, never logged
    /** RELAY_CF_API_BASE; must be https:// (the token must not travel in clear text). */
    std::string api_base = "https://rtc.live.cloudflare.com/v1";
    /** RELAY_STUN_URLS: added to every answer next to Cloudflare's own STUN URLs. */
    std::vector<std::string> stun_urls;

    /** Extra trust anchors (PEM) on top of the system's (which also honour SSL_CERT_FILE and
     * SSL_CERT_DIR); for private CAs and tests. Certificates are always verified. */
    std::string ca_file;

    std::chrono::milliseconds connect_timeout{5000}; ///< TCP connect plus TLS handshake
    std::chrono::milliseconds read_timeout{10000};   ///< sending the request and reading the answer
    /** Tries per issuance; only timeouts, network errors and 5xx answers are retried. */
    unsigned attempts = 3;
    /** Pause before the first retry, doubled before each further one. */
    std::chrono::milliseconds backoff{250};
    /** After a failed issuance, requests without a usable cached credential fail at once with
     * the same reason for this long, so an outage neither piles up blocked callers nor hammers
     * the API. 0 disables. */
    std::chrono::seconds failure_hold{5};
    /** How old the last API outcome may be before health() asks the API again. */
    std::chrono::seconds health_interval{60};
    /** Subjects whose credentials are kept; expired ones are dropped first when full. */
    std::size_t max_cached_subjects = 10000;

    clock_function clock;
    telemetry::logger* log = nullptr;          ///< optional: failures are logged here
    telemetry::registry* metrics = nullptr;    ///< optional: API calls and cache hits are counted here
};

/**
 * Asks `POST {api_base}/turn/keys/{key_id}/credentials/generate-ice-servers` with
 * `Authorization: Bearer {api_token}` and `{"ttl":N}`, and normalizes the `iceServers` of the
 * 201 answer into protocol::ice_credentials (TURN URLs UDP first, STUN URLs in their own entry).
 *
 * Credentials are cached per subject and reissued once less than a quarter of their lifetime
 * is left, so a burst of sessions costs one API call; concurrent callers for one subject share
 * one call. When the API fails, a cached credential that is still valid for at least 30 s is
 * served; otherwise the call fails with the reason, and health() reports it.
 *
 * credentials() and health() block for up to attempts × (connect + read timeouts) plus the
 * backoff pauses, on the calling thread: call them from a blocking pool.
 */
class cloudflare_provider final : public provider {
public:
    /** Builds the TLS context; nothing is sent yet. Throws std::invalid_argument for an empty
     * key or token, a key id with other characters, a base URL that is not https://host[:port]
     * [/path], or a CA file that cannot be loaded. */
    explicit cloudflare_provider(cloudflare_options options);
    ~cloudflare_provider() override;
    cloudflare_provider(cloudflare_provider const&) = delete;
    cloudflare_provider& operator=(cloudflare_provider const&) = delete;

    std::string_view name() const noexcept override { return "cloudflare"; }
    credentials_result credentials(std::string_view subject, std::chrono::seconds ttl) override;
    /** The last API outcome when it is recent (health_interval after a success, failure_hold
     * after a failure), else the outcome of a fresh issuance with a short TTL. */
    std::string health() override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace relay::turn
