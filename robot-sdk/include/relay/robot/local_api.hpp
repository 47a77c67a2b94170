#pragma once
/** @file
 * A robot's side of HTTP towards its own services on localhost: a small blocking client (for
 * its REST API and robot-agent's command webhook) and the REST-tunnel forwarder built on it.
 * Public so robot-agent, relay-bench and the Python binding (relay_robot) share one forwarder.
 */
#include <relay/protocol/device_inbound.hpp>
#include <relay/protocol/device_outbound.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::robot {

/** An `http://host[:port][/base]` address of a local service. */
struct http_target {
    std::string host;
    std::uint16_t port = 80;
    std::string base_path; ///< without a trailing '/', "" for the root
};

/** Parses `http://host[:port][/base]`; nullopt (and `why`) for anything else, https included. */
std::optional<http_target> parse_http_target(std::string_view url, std::string& why);

/** What a local service answered, or why it did not. */
struct http_result {
    bool ok = false;         ///< an answer arrived (any status)
    bool timed_out = false;  ///< no answer within the timeout
    bool too_large = false;  ///< the answer's body exceeded the limit
    std::string error;       ///< why there is no answer
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/** One request on a fresh connection; never throws for network failures. */
http_result http_call(http_target const& target, std::string const& method, std::string const& path_and_query,
                      std::vector<std::pair<std::string, std::string>> const& headers, std::string const& body,
                      std::chrono::milliseconds timeout, std::size_t max_body);

/** Limits of the REST-tunnel forwarder. */
struct forward_limits {
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};
    std::size_t max_body = 1024 * 1024; ///< the relay's default tunnel limit
};

/**
 * Forwards a tunnelled request to the robot's local API and turns the answer into the
 * `http_response` the relay expects: JSON bodies as `body`, anything else as `body_b64`,
 * hop-by-hop and invalid headers dropped, the body of a 204 or 304 dropped. Failures become
 * answers too: 502 LOCAL_API_UNREACHABLE, 504 LOCAL_API_TIMEOUT, 502 BODY_TOO_LARGE, and 502
 * LOCAL_API_BAD_STATUS for a status the relay refuses (1xx, or outside 200–599).
 */
protocol::robot_http_response forward_to_local_api(http_target const& api, protocol::robot_http_request const& request,
                                                   forward_limits const& limits = {});

} // namespace relay::robot
