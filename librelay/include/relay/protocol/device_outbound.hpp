#pragma once
/** @file
 * Messages the relay sends to a robot on `/ws/device` (contract sections 4 to 6).
 *
 * | wire type        | struct                           |
 * |------------------|----------------------------------|
 * | auth_challenge   | auth_challenge                   |
 * | auth_ok          | device_auth_ok                   |
 * | command          | robot_command                    |
 * | webrtc_request   | robot_webrtc_request             |
 * | webrtc_answer    | webrtc_answer (webrtc.hpp)       |
 * | webrtc_ice       | webrtc_ice (webrtc.hpp)          |
 * | webrtc_close     | webrtc_close_notice (webrtc.hpp) |
 * | http_request     | robot_http_request               |
 * | turn_credentials | turn_credentials                 |
 * | ack              | event_ack                        |
 * | pong             | pong (common.hpp)                |
 * | error            | error (common.hpp)               |
 *
 * codec.hpp's device_outbound variant and decode_device_outbound() (for the robot SDK) decide
 * which one a text is.
 */
#include <relay/protocol/common.hpp>
#include <relay/protocol/webrtc.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace relay::protocol {

/** `auth_challenge`: sent right after the upgrade; `nonce` is base64url of 32 random bytes. */
struct auth_challenge {
    static constexpr std::string_view type_name = "auth_challenge";
    std::string nonce;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, auth_challenge const& m);
boost::system::result<auth_challenge> tag_invoke(boost::json::try_value_to_tag<auth_challenge>,
                                                 boost::json::value const& jv);

/** `auth_ok` to a robot: its signature was right. */
struct device_auth_ok {
    static constexpr std::string_view type_name = "auth_ok";
    int protocol = protocol_version;
    std::string device_id;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, device_auth_ok const& m);
boost::system::result<device_auth_ok> tag_invoke(boost::json::try_value_to_tag<device_auth_ok>,
                                                 boost::json::value const& jv);

/** `command` to a robot: an app's app_command with the sender's user id; `data` always present. */
struct robot_command {
    static constexpr std::string_view type_name = "command";
    std::string id;
    std::string from_user;
    std::string command;
    boost::json::value data;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, robot_command const& m);
boost::system::result<robot_command> tag_invoke(boost::json::try_value_to_tag<robot_command>,
                                                boost::json::value const& jv);

/** `webrtc_request` to a robot: an app wants a session; answer with webrtc_offer. */
struct robot_webrtc_request {
    static constexpr std::string_view type_name = "webrtc_request";
    std::string session_id;
    std::string from_user;
    protocol::media media = protocol::media::video;
    protocol::quality quality = protocol::quality::auto_;
    ice_credentials turn_credentials;
    /// v1.1: the session this one takes over; the robot feeds the new peer connection from the
    /// same media source and the old session is closed once the new one carries media.
    std::optional<std::string> replaces;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, robot_webrtc_request const& m);
boost::system::result<robot_webrtc_request> tag_invoke(boost::json::try_value_to_tag<robot_webrtc_request>,
                                                       boost::json::value const& jv);

/**
 * `http_request` to a robot: answer with robot_http_response carrying the same `id`. `query`
 * and `headers` are always sent ("" and {} when empty); at most one of `body` and `body_b64`.
 */
struct robot_http_request {
    static constexpr std::string_view type_name = "http_request";
    std::string id;
    std::string method;
    std::string path;
    std::string query;
    http_headers headers;
    std::optional<boost::json::value> body;
    std::optional<std::string> body_b64;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, robot_http_request const& m);
boost::system::result<robot_http_request> tag_invoke(boost::json::try_value_to_tag<robot_http_request>,
                                                     boost::json::value const& jv);

/**
 * `turn_credentials`: the answer to a robot's turn_credentials_request. `credentials` is the
 * same object as the body of GET /api/turn/credentials, issued for the device id; `ref` is the
 * request's `id` when it had one.
 */
struct turn_credentials {
    static constexpr std::string_view type_name = "turn_credentials";
    ice_credentials credentials;
    std::optional<std::string> ref;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, turn_credentials const& m);
boost::system::result<turn_credentials> tag_invoke(boost::json::try_value_to_tag<turn_credentials>,
                                                   boost::json::value const& jv);

/**
 * `ack` to a robot: its event with `id` == `ref` is in the device's history, numbered `seq`, and
 * will be delivered and replayed by `resume`. The same id sent again while that event is still
 * in the history gets the same ack (same seq) and is not delivered again. Events without an id
 * get no ack.
 */
struct event_ack {
    static constexpr std::string_view type_name = "ack";
    std::string ref;
    std::uint64_t seq = 0;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, event_ack const& m);
boost::system::result<event_ack> tag_invoke(boost::json::try_value_to_tag<event_ack>, boost::json::value const& jv);

} // namespace relay::protocol
