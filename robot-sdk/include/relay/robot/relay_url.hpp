#pragma once
/** @file
 * Where a relay's WebSocket endpoint is. Robots are configured with the relay's address in
 * whatever form the operator has at hand (`https://relay.example.com`, `wss://…/ws/device`,
 * `ws://127.0.0.1:8000`); this turns any of them into host, port, TLS and target.
 */
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace relay::robot {

/** A parsed relay address. */
struct relay_url {
    bool tls = false;       ///< wss:// or https://: TLS with certificate verification
    std::string host;       ///< a name or an address (IPv6 without brackets)
    std::uint16_t port = 0; ///< as given, or 80 / 443 by scheme
    std::string path;       ///< the WebSocket target, e.g. "/ws/device"
};

/**
 * Parses `ws://`, `wss://`, `http://` or `https://` URLs (http means ws, https means wss).
 * When the path does not already end in `endpoint` it is taken as the relay's base path and
 * `endpoint` is appended: `https://relay.example.com/robots` → `/robots/ws/device`.
 * Fails with boost::system::errc::invalid_argument for another scheme, an empty host, a bad
 * port, user info, a query or a fragment.
 */
boost::system::result<relay_url> parse_relay_url(std::string_view url,
                                                 std::string_view endpoint = "/ws/device") noexcept;

/** The URL back as text, e.g. `wss://relay.example.com:443/ws/device` (for logs and errors). */
std::string to_string(relay_url const& url);

} // namespace relay::robot
