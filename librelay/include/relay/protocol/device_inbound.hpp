#pragma once
/** @file
 * Messages a robot sends to the relay on `/ws/device` (contract sections 4 to 6).
 *
 * | wire type                | struct                    |
 * |--------------------------|---------------------------|
 * | auth                     | device_auth               |
 * | hello                    | hello                     |
 * | event                    | robot_event               |
 * | command_result           | robot_command_result      |
 * | webrtc_offer             | webrtc_offer (webrtc.hpp) |
 * | webrtc_ice               | webrtc_ice (webrtc.hpp)   |
 * | webrtc_close             | webrtc_close (webrtc.hpp) |
 * | webrtc_stats             | webrtc_stats (webrtc.hpp) |
 * | http_response            | robot_http_response       |
 * | turn_credentials_request | turn_credentials_request  |
 * | ping                     | ping (common.hpp)         |
 *
 * codec.hpp's device_inbound variant and decode_device_inbound() decide which one a text is.
 */
#include <relay/protocol/common.hpp>
#include <relay/protocol/webrtc.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace relay::protocol {

/**
 * `auth` from a robot: the answer to auth_challenge. `signature` is lowercase hex
 * HMAC-SHA256(device secret, nonce + "." + device_id); the codec only checks it is a string,
 * the auth area checks it.
 */
struct device_auth {
    static constexpr std::string_view type_name = "auth";
    std::string device_id;
    std::string signature;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, device_auth const& m);
boost::system::result<device_auth> tag_invoke(boost::json::try_value_to_tag<device_auth>,
                                              boost::json::value const& jv);

/** `hello`: what the robot can do, kept for GET /api/devices. */
struct hello {
    static constexpr std::string_view type_name = "hello";
    boost::json::object capabilities;
    std::optional<std::string> firmware;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, hello const& m);
boost::system::result<hello> tag_invoke(boost::json::try_value_to_tag<hello>, boost::json::value const& jv);

/**
 * `event` from a robot. The relay adds device_id, seq and ts and delivers it as `event`
 * (app_outbound.hpp). The names robot_connected and robot_disconnected are the relay's own and
 * rejected here. With an `id` the relay answers event_ack (device_outbound.hpp) once the event is
 * in the device's history, and recognises the id when it is sent again; `id` is also the `ref`
 * of an error about this message. It never reaches apps.
 */
struct robot_event {
    static constexpr std::string_view type_name = "event";
    std::string event; ///< the event name
    std::optional<boost::json::value> data;
    std::optional<std::string> id;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, robot_event const& m);
boost::system::result<robot_event> tag_invoke(boost::json::try_value_to_tag<robot_event>,
                                              boost::json::value const& jv);

/** `command_result` from a robot: the answer to robot_command `id`. */
struct robot_command_result {
    static constexpr std::string_view type_name = "command_result";
    std::string id;
    bool ok = false;
    std::optional<boost::json::value> data;
    std::optional<boost::json::value> error;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, robot_command_result const& m);
boost::system::result<robot_command_result> tag_invoke(boost::json::try_value_to_tag<robot_command_result>,
                                                       boost::json::value const& jv);

/** `http_response` from a robot: the answer to robot_http_request `id`. At most one body. */
struct robot_http_response {
    static constexpr std::string_view type_name = "http_response";
    std::string id;
    unsigned status = 200; ///< a final status, 200 to 599 (is_valid_http_response_status)
    http_headers headers;
    std::optional<boost::json::value> body;
    std::optional<std::string> body_b64;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, robot_http_response const& m);
boost::system::result<robot_http_response> tag_invoke(boost::json::try_value_to_tag<robot_http_response>,
                                                      boost::json::value const& jv);

/**
 * `turn_credentials_request`: the robot asks for ICE credentials outside a WebRTC session (an
 * addition to the contract, which says robots may ask "over their socket"). Answered with
 * turn_credentials, or an `error` (TURN_UNAVAILABLE) with `ref` = `id`.
 */
struct turn_credentials_request {
    static constexpr std::string_view type_name = "turn_credentials_request";
    std::optional<std::string> id; ///< echoed as `ref` in the answer
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, turn_credentials_request const& m);
boost::system::result<turn_credentials_request> tag_invoke(boost::json::try_value_to_tag<turn_credentials_request>,
                                                           boost::json::value const& jv);

} // namespace relay::protocol
