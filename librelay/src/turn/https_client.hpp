#pragma once
// Private to the turn area: a small blocking HTTPS client (Beast + OpenSSL) for one JSON POST
// at a time, with certificate and host name verification, SNI and timeouts.
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace relay::turn::detail {

/** Where an https:// base URL points. */
struct https_endpoint {
    std::string host;        ///< name or IP literal (without IPv6 brackets)
    std::string port;        ///< "443" unless given
    std::string path_prefix; ///< e.g. "/v1", without a trailing '/'; may be empty
};

/** Parses `https://host[:port][/path]`; nullopt (with `why`) for anything else, including
 * http://, user info, a query or a fragment. */
std::optional<https_endpoint> parse_https_url(std::string_view url, std::string& why);

struct https_reply {
    unsigned status = 0;
    std::string body;
};

/** Why a request got no HTTP answer. */
struct https_failure {
    std::string what;       ///< e.g. "connection refused", "certificate verify failed: …"
    bool retryable = false; ///< timeouts and network errors; not TLS verification failures
};

struct https_timeouts {
    std::chrono::milliseconds connect; ///< TCP connect plus TLS handshake
    std::chrono::milliseconds read;    ///< writing the request plus reading the whole answer
};

/**
 * One TLS context for one endpoint. Thread-safe: each request uses its own connection and
 * io_context on the calling thread (the SSL_CTX is only read after construction).
 */
class https_client {
public:
    /** Trusts the system's CA store (and SSL_CERT_FILE/SSL_CERT_DIR) plus `ca_file` when not
     * empty; throws std::invalid_argument when `ca_file` cannot be loaded. */
    https_client(https_endpoint endpoint, std::string const& ca_file);

    /**
     * POSTs `body` as JSON to `target` with `Authorization: Bearer {bearer}` on a fresh
     * connection and reads the whole answer (at most 64 KiB). Blocks for at most the two
     * timeouts, plus however long the system resolver takes for a host name.
     */
    bool post_json(std::string const& target, std::string_view bearer, std::string const& body,
                   https_timeouts timeouts, https_reply& reply, https_failure& failure);

    https_endpoint const& endpoint() const noexcept { return endpoint_; }

private:
    https_endpoint endpoint_;
    boost::asio::ssl::context tls_;
};

} // namespace relay::turn::detail
