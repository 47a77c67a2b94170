#pragma once
// How relay-cli talks to a relay: one HTTP request per call and an app WebSocket, over plain
// TCP or TLS (certificates verified against the system store plus an optional CA file). The
// client itself is the shared relay_support one (the tests use it too); this adds relay-cli's
// endpoint, its user agent, its error wording and the app socket's login.
#include <relay/robot/relay_url.hpp>
#include <relay_support/client.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace relay::cli {

/** The relay could not be reached or stopped answering: exit status 3. */
using network_error = support::network_error;

/** Where the relay is. */
struct relay_endpoint {
    std::string text;          ///< as the user gave it (the key of its tokens in the config)
    robot::relay_url url;      ///< host, port, TLS; path is the base path ("" for the root)
    std::string ca_file;       ///< extra trusted CAs for https/wss
};

/** Parses an http(s):// or ws(s):// base URL; throws usage_error. */
relay_endpoint make_endpoint(std::string const& text, std::string ca_file);

/** An HTTP answer. */
struct http_answer : support::http_answer {
    /** "CODE: message" or "HTTP 404" for showing a failure. */
    std::string describe_error() const;
};

/** One request on a fresh connection. `target` starts with '/' and is appended to the base path. Throws network_error. */
http_answer http_request(relay_endpoint const& relay, std::string const& method, std::string const& target,
                         std::optional<std::string> const& body, std::vector<std::pair<std::string, std::string>> const& headers,
                         std::chrono::milliseconds timeout);

/** The relay closed the app socket: its close code and reason. */
struct socket_closed : std::runtime_error {
    socket_closed(std::uint16_t c, std::string const& why) : std::runtime_error(why), code(c) {}
    std::uint16_t code;
};

/**
 * An authenticated `/ws/app` connection (bearer token on the upgrade). Reads time out without
 * breaking the connection; Beast answers the relay's pings while a read is waiting.
 */
class app_socket {
public:
    /** Connects, upgrades and reads `auth_ok`; throws network_error, or socket_closed when refused (4401). */
    app_socket(relay_endpoint const& relay, std::string const& access_token, std::chrono::milliseconds timeout);
    ~app_socket();
    app_socket(app_socket const&) = delete;
    app_socket& operator=(app_socket const&) = delete;

    /** The relay's auth_ok. */
    boost::json::value const& auth_ok() const noexcept { return auth_ok_; }

    void send(boost::json::value const& message);

    /** The next message; nullopt on timeout. Throws socket_closed or network_error when the connection ends. */
    std::optional<boost::json::value> read(std::chrono::milliseconds timeout);

    /** Closes with 1000 (best effort, bounded). */
    void close();

private:
    std::unique_ptr<support::websocket_client> ws_;
    boost::json::value auth_ok_;
};

} // namespace relay::cli
