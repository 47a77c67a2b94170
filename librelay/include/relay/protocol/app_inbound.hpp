#pragma once
/** @file
 * Messages an app sends to the relay on `/ws/app` (contract sections 3 to 5).
 *
 * | wire type       | struct                 |
 * |-----------------|------------------------|
 * | auth            | app_auth               |
 * | command         | app_command            |
 * | webrtc_request  | app_webrtc_request     |
 * | webrtc_answer   | webrtc_answer (webrtc.hpp) |
 * | webrtc_ice      | webrtc_ice (webrtc.hpp)    |
 * | webrtc_close    | webrtc_close (webrtc.hpp)  |
 * | webrtc_stats    | webrtc_stats (webrtc.hpp)  |
 * | http_request    | app_http_request       |
 * | resume          | resume                 |
 * | ping            | ping (common.hpp)      |
 *
 * codec.hpp's app_inbound variant and decode_app_inbound() decide which one a text is.
 */
#include <relay/protocol/common.hpp>
#include <relay/protocol/webrtc.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace relay::protocol {

/** `auth`: the first message of an app that did not authenticate on the upgrade. */
struct app_auth {
    static constexpr std::string_view type_name = "auth";
    std::string token; ///< an access token; never logged
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, app_auth const& m);
boost::system::result<app_auth> tag_invoke(boost::json::try_value_to_tag<app_auth>, boost::json::value const& jv);

/**
 * `command`: ask a robot to do something (needs operator). `data` keeps the difference between
 * absent (nullopt) and JSON null; the robot receives `{}` when it was absent (forwarding.hpp).
 */
struct app_command {
    static constexpr std::string_view type_name = "command";
    std::string device_id;
    std::string id; ///< answered by `ack` with ref = id, then by `command_result` with this id
    std::string command;
    std::optional<boost::json::value> data;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, app_command const& m);
boost::system::result<app_command> tag_invoke(boost::json::try_value_to_tag<app_command>,
                                              boost::json::value const& jv);

/** `webrtc_request`: open a video/audio session with a robot. Absent media/quality: video, auto. */
struct app_webrtc_request {
    static constexpr std::string_view type_name = "webrtc_request";
    std::string device_id;
    std::optional<std::string> id; ///< echoed as `ref` in webrtc_credentials and errors
    protocol::media media = protocol::media::video;
    protocol::quality quality = protocol::quality::auto_;
    /// v1.1: a live session of this app connection with the same device that this one takes over
    /// (make-before-break renewal before credentials expire; docs/webrtc.md "Sessions longer than a
    /// credential").
    std::optional<std::string> replaces;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, app_webrtc_request const& m);
boost::system::result<app_webrtc_request> tag_invoke(boost::json::try_value_to_tag<app_webrtc_request>,
                                                     boost::json::value const& jv);

/**
 * `http_request`: the REST tunnel over the socket (contract section 5). At most one of `body`
 * (any JSON) and `body_b64` (base64 bytes); neither means no body. Absent query and headers
 * are "" and {}.
 */
struct app_http_request {
    static constexpr std::string_view type_name = "http_request";
    std::string device_id;
    std::string id; ///< the answer is an `http_response` (or an `error`) with this id
    std::string method;
    std::string path;  ///< starts with '/', relative to the robot's API
    std::string query; ///< without the '?'
    http_headers headers;
    std::optional<boost::json::value> body;
    std::optional<std::string> body_b64;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, app_http_request const& m);
boost::system::result<app_http_request> tag_invoke(boost::json::try_value_to_tag<app_http_request>,
                                                   boost::json::value const& jv);

/** `resume`: replay a device's buffered events with seq > after_seq, then `resumed`. */
struct resume {
    static constexpr std::string_view type_name = "resume";
    std::string device_id;
    std::uint64_t after_seq = 0;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, resume const& m);
boost::system::result<resume> tag_invoke(boost::json::try_value_to_tag<resume>, boost::json::value const& jv);

} // namespace relay::protocol
