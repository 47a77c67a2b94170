#pragma once
/** @file
 * Messages the relay sends to an app on `/ws/app` (contract sections 3 to 5).
 *
 * | wire type          | struct                            |
 * |--------------------|-----------------------------------|
 * | auth_ok            | app_auth_ok (with device_summary) |
 * | auth_renewed       | auth_renewed                      |
 * | ack                | ack                               |
 * | command_result     | command_result                    |
 * | event              | event                             |
 * | resumed            | resumed                           |
 * | pong               | pong (common.hpp)                 |
 * | webrtc_credentials | webrtc_credentials                |
 * | webrtc_offer       | webrtc_offer (webrtc.hpp)         |
 * | webrtc_ice         | webrtc_ice (webrtc.hpp)           |
 * | webrtc_close       | webrtc_close_notice (webrtc.hpp)  |
 * | http_response      | http_response                     |
 * | error              | error (common.hpp)                |
 *
 * codec.hpp's app_outbound variant and decode_app_outbound() (for app-side clients) decide
 * which one a text is.
 */
#include <relay/protocol/common.hpp>
#include <relay/protocol/webrtc.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace relay::protocol {

/** A device as `auth_ok` lists it: one the user may access, with the user's role on it. */
struct device_summary {
    std::string device_id;
    std::string name;
    protocol::role role = protocol::role::viewer;
    bool online = false;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, device_summary const& m);
boost::system::result<device_summary> tag_invoke(boost::json::try_value_to_tag<device_summary>,
                                                 boost::json::value const& jv);

/** `auth_ok` to an app: who it is and every device it may access. */
struct app_auth_ok {
    static constexpr std::string_view type_name = "auth_ok";
    int protocol = protocol_version;
    std::string user_id;
    std::vector<device_summary> devices;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, app_auth_ok const& m);
boost::system::result<app_auth_ok> tag_invoke(boost::json::try_value_to_tag<app_auth_ok>,
                                              boost::json::value const& jv);

/**
 * `auth_renewed`: the app sent `auth` with a fresh access token of the same user on its open
 * socket; the socket now lives until that token's `expires_at` (unix seconds). An addition to
 * the contract, which is silent on renewal (docs/protocol.md).
 */
struct auth_renewed {
    static constexpr std::string_view type_name = "auth_renewed";
    std::int64_t expires_at = 0;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, auth_renewed const& m);
boost::system::result<auth_renewed> tag_invoke(boost::json::try_value_to_tag<auth_renewed>,
                                               boost::json::value const& jv);

/** `ack`: the command with id `ref` was handed to the robot's connection. */
struct ack {
    static constexpr std::string_view type_name = "ack";
    std::string ref;
    std::string device_id;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, ack const& m);
boost::system::result<ack> tag_invoke(boost::json::try_value_to_tag<ack>, boost::json::value const& jv);

/**
 * `command_result` to the app that sent command `id`: the robot's answer plus the device it
 * came from. `data` and `error` are passed through as the robot sent them (absent stays absent).
 */
struct command_result {
    static constexpr std::string_view type_name = "command_result";
    std::string id;
    std::string device_id;
    bool ok = false;
    std::optional<boost::json::value> data;
    std::optional<boost::json::value> error;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, command_result const& m);
boost::system::result<command_result> tag_invoke(boost::json::try_value_to_tag<command_result>,
                                                 boost::json::value const& jv);

/**
 * `event` to an app: a robot's event (with `seq`, increasing by one per device) or the relay's
 * presence events robot_connected / robot_disconnected (without `seq`). `data` is passed
 * through as the robot sent it (absent stays absent, null stays null).
 */
struct event {
    static constexpr std::string_view type_name = "event";
    std::string event; ///< the event name
    std::string device_id;
    std::optional<std::uint64_t> seq; ///< required for robot events, absent for presence events
    timestamp ts;
    std::optional<boost::json::value> data;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, event const& m);
boost::system::result<event> tag_invoke(boost::json::try_value_to_tag<event>, boost::json::value const& jv);

/**
 * `resumed`: the replay asked for by `resume` is over. `from_seq`..`to_seq` is the range of
 * events replayed (from_seq = to_seq + 1 when there were none); `complete` is false when events
 * after `after_seq` had already left the buffer.
 */
struct resumed {
    static constexpr std::string_view type_name = "resumed";
    std::string device_id;
    std::uint64_t from_seq = 0;
    std::uint64_t to_seq = 0;
    bool complete = true;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, resumed const& m);
boost::system::result<resumed> tag_invoke(boost::json::try_value_to_tag<resumed>, boost::json::value const& jv);

/**
 * `webrtc_credentials`: the session was created; here is how to reach the robot. `ref` is the
 * `id` of the app's webrtc_request when it had one (an addition to the contract).
 */
struct webrtc_credentials {
    static constexpr std::string_view type_name = "webrtc_credentials";
    std::string session_id;
    std::string device_id;
    ice_credentials credentials;
    std::optional<std::string> ref;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, webrtc_credentials const& m);
boost::system::result<webrtc_credentials> tag_invoke(boost::json::try_value_to_tag<webrtc_credentials>,
                                                     boost::json::value const& jv);

/**
 * `http_response` to an app: the robot's answer to the app's `http_request` with this `id`,
 * plus the device it came from. At most one of `body` and `body_b64`.
 */
struct http_response {
    static constexpr std::string_view type_name = "http_response";
    std::string id;
    std::string device_id;
    unsigned status = 200; ///< a final status, 200 to 599 (is_valid_http_response_status)
    http_headers headers;
    std::optional<boost::json::value> body;
    std::optional<std::string> body_b64;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, http_response const& m);
boost::system::result<http_response> tag_invoke(boost::json::try_value_to_tag<http_response>,
                                                boost::json::value const& jv);

} // namespace relay::protocol
