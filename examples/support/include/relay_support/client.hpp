#pragma once
/** @file A blocking client of the relay's public interfaces, as an app or a person's tool talks
 * to it: one HTTP request per connection, and a WebSocket whose reads time out without breaking
 * it; both over plain TCP or TLS. relay-cli and the test suites use this one copy. */
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace relay::support {

using header_list = std::vector<std::pair<std::string, std::string>>;

/** The relay could not be reached, or the connection failed; what() says which step failed. */
struct network_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/** A CA file given for TLS could not be loaded (a mistake of the caller, not of the network). */
struct ca_file_error : std::runtime_error {
    ca_file_error(std::string file_name, std::string const& why) : std::runtime_error(why), file(std::move(file_name)) {}
    std::string file;
};

/** The relay answered the WebSocket upgrade with something other than 101. */
struct upgrade_refused : network_error {
    upgrade_refused(std::string const& what, unsigned http_status, std::string response_body)
        : network_error(what), status(http_status), body(std::move(response_body))
    {
    }
    unsigned status; ///< 0 when no HTTP answer came at all
    std::string body;
};

/** Where the relay is and how to reach it. */
struct endpoint {
    std::string host;            ///< a name or an address: resolved, and the name TLS checks
    std::uint16_t port = 0;
    bool tls = false;
    std::string base_path;       ///< put before every target ("" for the root)
    std::string ca_file;         ///< extra trusted CAs (PEM) for TLS
    bool system_cas = true;      ///< also trust the system's CAs
    std::string connect_address; ///< connect to this address instead of resolving `host`
    std::string source_address;  ///< bind the local end to this address first ("" any)
};

/** An HTTP answer. */
struct http_answer {
    unsigned status = 0;
    std::map<std::string, std::string> headers; ///< lower-case names
    std::string body;

    /** The body as JSON (null when it is not). */
    boost::json::value json() const;
    /** `error.code` and `error.message` of an error body ("" when absent). */
    std::string error_code() const;
    std::string error_message() const;
    /** A header by its lower-case name ("" when absent). */
    std::string header(std::string const& lower_name) const;
};

/** How one HTTP request is made. */
struct http_options {
    /** For connecting, sending and reading the whole answer. */
    std::chrono::milliseconds timeout = std::chrono::seconds(30);
    std::string user_agent;  ///< "" sends no User-Agent
    std::string host_header; ///< "" sends host[:port] of the endpoint
    bool close = false;      ///< send Connection: close
    std::uint64_t body_limit = 64 * 1024 * 1024;
};

/**
 * One request on a fresh connection. `target` starts with '/' and goes after the base path;
 * `body`, when given, is sent as application/json unless `headers` name another Content-Type.
 * A header in `headers` replaces one of the same name. Throws network_error, or ca_file_error.
 */
http_answer http_request(endpoint const& to, std::string_view method, std::string const& target,
                         std::optional<std::string> const& body, header_list const& headers,
                         http_options const& options);

/** How a WebSocket is opened. */
struct websocket_options {
    std::chrono::milliseconds timeout = std::chrono::seconds(30); ///< connect, TLS and upgrade
    header_list headers;     ///< on the upgrade request
    std::string user_agent;  ///< "" sends no User-Agent
    std::string host_header; ///< "" sends host[:port] of the endpoint
    std::size_t read_message_max = 64 * 1024 * 1024;
    bool no_delay = false;   ///< TCP_NODELAY, for tests that measure round trips
    /** Ping a silent peer and give up on one silent this long; zero: never. */
    std::chrono::seconds idle_timeout = std::chrono::seconds(0);
};

/** What one read found. */
struct websocket_read {
    enum class result { message, timed_out, closed, failed };
    result what = result::timed_out;
    std::string text;          ///< the message
    std::uint16_t close_code = 0; ///< the peer's close code (closed, failed)
    std::string close_reason;  ///< its reason (closed)
    std::string error;         ///< what went wrong (failed)
};

/**
 * A WebSocket client connection over TCP or TLS. A read that times out stays pending and the
 * next read() picks it up, so a message is never lost and the connection never broken by a
 * time-out; Beast answers the peer's pings while a read waits. Not thread-safe: one owner.
 */
class websocket_client {
public:
    /** Connects, upgrades at `target` (after the base path); throws network_error (upgrade_refused
     * when the relay answered the upgrade with an HTTP status), or ca_file_error. */
    websocket_client(endpoint const& to, std::string const& target, websocket_options const& options);
    ~websocket_client();
    websocket_client(websocket_client const&) = delete;
    websocket_client& operator=(websocket_client const&) = delete;

    /** Sends a text message; throws network_error. */
    void send_text(std::string_view text);
    /** Sends one frame of a text message; `last` ends the message. Throws network_error. */
    void send_fragment(std::string_view text, bool last);

    /** The next message, or why there is none. After closed or failed, every read says so again. */
    websocket_read read(std::chrono::milliseconds timeout);

    /** Closes with `code`, waiting up to `limit` for the peer's answer (best effort). */
    void close(std::uint16_t code, std::chrono::milliseconds limit = std::chrono::seconds(2));

    /** Whether the connection is open as far as this end knows. */
    bool is_open() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/** Runs `ioc` on this thread until `done` is true or `timeout` passes; false on time-out. The
 * way a blocking client waits for an operation it started. */
bool run_until(boost::asio::io_context& ioc, bool const& done, std::chrono::milliseconds timeout);

} // namespace relay::support
