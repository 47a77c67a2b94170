#pragma once
// The REST tunnel (contract section 5): which requests may pass, and the call that carries one
// to a robot and waits for its answer. Used by the HTTP route and by /ws/app's http_request.
#include "server/net.hpp"

#include <relay/protocol/common.hpp>
#include <relay/protocol/device_inbound.hpp>

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::server {

struct runtime;
struct live_service;

/**
 * The allow list: entries "METHOD /path/pattern" where a pattern segment `*` matches one path
 * segment and a final `**` matches one or more; METHOD may be `*` or several joined by '|'.
 */
class tunnel_policy {
public:
    /** Parses entries; on a malformed one, `why` names it and the result is empty. */
    static std::optional<tunnel_policy> parse(std::vector<std::string> const& entries, std::string& why);
    /** The robot API of the field (docs/api.md lists it). */
    static std::vector<std::string> default_entries();

    bool allows(std::string_view method, std::string_view path) const;

private:
    struct rule {
        std::vector<std::string> methods; // upper case; "*" for any
        std::vector<std::string> segments;
    };
    std::vector<rule> rules_;
};

/**
 * Why a path may not be tunnelled, or empty: traversal, encoded separators and dots, path
 * parameters (`;`), control characters, invalid or overlong UTF-8 once decoded, absolute URLs.
 */
std::string check_tunnel_path(std::string_view path);

/** Connection-level headers that never cross the tunnel, plus the caller's credentials. */
bool is_stripped_header(std::string_view name);

/**
 * Headers a robot's answer may not carry to the caller: is_stripped_header's, plus those that
 * set policy for the relay's whole origin (Access-Control-*, Strict-Transport-Security,
 * Content-Security-Policy, Clear-Site-Data, Alt-Svc, reporting…). tunnel_call removes them.
 */
bool is_stripped_answer_header(std::string_view name);

/** One tunnelled request, as the app asked for it. */
struct tunnel_request {
    std::string device_id;
    std::string user_id;
    protocol::role role = protocol::role::viewer;
    std::string method; // upper case
    std::string path;   // starts with '/'
    std::string query;
    protocol::http_headers headers;
    std::optional<boost::json::value> body;
    std::optional<std::string> body_b64;
};

/** The robot's answer, or why there is none (code and message for an error answer). */
struct tunnel_outcome {
    std::optional<protocol::robot_http_response> response;
    errc code = errc::internal;
    std::string message;
};

/**
 * Checks role, path and allow list, hands the request to the device's robot under a fresh id,
 * and waits up to RELAY_TUNNEL_TIMEOUT for its answer, returned without is_stripped_answer_header's
 * headers. Runs on the caller's executor.
 * `req` must outlive the call (GCC 12: no temporaries in co_await, see blocking.hpp).
 */
net::awaitable<tunnel_outcome> tunnel_call(runtime& rt, live_service& live, tunnel_request const& req);

} // namespace relay::server
