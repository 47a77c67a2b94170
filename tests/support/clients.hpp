#pragma once
// HTTP and WebSocket clients for integration tests, talking to a real relayd on 127.0.0.1 exactly
// as apps and robots do: the shared relay_support client (relay-cli's too) with the tests'
// defaults, plus what only tests do (raw bytes, certificate fingerprints, fragments).
#include <relay_support/client.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace relay::test {

using support::header_list;
using http_reply = support::http_answer;

/** One HTTP/1.1 request on a fresh connection to 127.0.0.1:port. Throws support::network_error. */
http_reply http_call(std::uint16_t port, std::string const& method, std::string const& target,
                     std::string const& body = {}, header_list const& headers = {});

/** The same from `source` (another 127.0.0.0/8 address), so that the relay sees another client. */
http_reply http_call_from(std::string const& source, std::uint16_t port, std::string const& method,
                          std::string const& target, std::string const& body = {}, header_list const& headers = {});

http_reply http_get(std::uint16_t port, std::string const& target, std::string const& bearer = {});
http_reply http_delete(std::uint16_t port, std::string const& target, std::string const& bearer = {});
http_reply http_json(std::uint16_t port, std::string const& method, std::string const& target,
                     boost::json::value const& body, std::string const& bearer = {});

/**
 * One HTTPS request to 127.0.0.1:port, verifying the server's certificate against `ca_file`
 * (and that it is valid for 127.0.0.1). Throws std::runtime_error on a TLS failure.
 */
http_reply https_call(std::uint16_t port, std::string const& ca_file, std::string const& method,
                      std::string const& target, std::string const& body = {}, header_list const& headers = {});

/** What the relay sent back on a raw connection, and whether it closed the connection. */
struct raw_reply {
    std::string bytes;
    bool closed = false; ///< false when `limit` passed with the connection still open
};

/**
 * Writes `bytes` exactly as given on a fresh connection to 127.0.0.1:port (for requests no
 * HTTP library would send), then reads until the relay closes the connection or `limit` passes.
 */
raw_reply raw_exchange(std::uint16_t port, std::string const& bytes,
                       std::chrono::milliseconds limit = std::chrono::seconds(10));

/** The SHA-256 fingerprint (hex) of the certificate 127.0.0.1:port presents (no verification). */
std::string peer_certificate_fingerprint(std::uint16_t port);

/** Where a TLS client connects: 127.0.0.1:port, the certificate checked against `ca_file` alone
 * and for `server_name`, which is also sent as SNI (a name only) and Host. */
struct tls_to {
    std::uint16_t port = 0;
    std::string ca_file;
    std::string server_name = "127.0.0.1";
};

/** A WebSocket client connection. Reads time out without breaking the connection. */
class ws_client {
public:
    /** Connects and upgrades; throws support::network_error (support::upgrade_refused when the
     * upgrade is refused). */
    ws_client(std::uint16_t port, std::string const& target, header_list const& headers = {});
    /** The same over TLS (wss://). */
    ws_client(tls_to const& to, std::string const& target, header_list const& headers = {});
    ~ws_client();

    /** Tries the upgrade; returns the HTTP status of a refusal, or 101. */
    static unsigned upgrade_status(std::uint16_t port, std::string const& target, header_list const& headers = {});

    void send_text(std::string const& text);
    void send(boost::json::value const& message);
    /** Sends one frame of a text message; `last` ends the message (fragmented messages). */
    void send_fragment(std::string const& text, bool last);

    /** The next text message, or nullopt on timeout or once the connection is closed. */
    std::optional<std::string> read_text(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    std::optional<boost::json::value> read_json(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /** Reads until a message whose "type" is `type` (others are kept in skipped()); null on timeout. */
    boost::json::value expect(std::string const& type, std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /** Waits until the relay closes the connection; returns the close code (0 on timeout). */
    std::uint16_t wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    bool is_open() const;
    std::uint16_t close_code() const;
    void close(std::uint16_t code = 1000);

    std::vector<boost::json::value> const& skipped() const noexcept { return skipped_; }

private:
    std::unique_ptr<support::websocket_client> ws_;
    std::uint16_t code_ = 0;
    std::vector<boost::json::value> skipped_;
};

/** A wss:// client to 127.0.0.1:port, its certificate verified against `ca_file`. */
class wss_client : public ws_client {
public:
    wss_client(std::uint16_t port, std::string const& target, std::string const& ca_file,
               header_list const& headers = {})
        : ws_client(tls_to{port, ca_file}, target, headers)
    {
    }
};

} // namespace relay::test
