#pragma once
/** @file
 * How a message changes shape when the relay passes it from one socket to the other
 * (contract sections 3 to 6). Pure functions, so the server and the tests agree on every field
 * the relay adds or fills in.
 */
#include <relay/protocol/app_inbound.hpp>
#include <relay/protocol/app_outbound.hpp>
#include <relay/protocol/device_inbound.hpp>
#include <relay/protocol/device_outbound.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace relay::protocol {

/** The `command` a robot receives for an app's command: same id, sender added, absent data → {}. */
robot_command forward_to_robot(app_command const& command, std::string from_user);

/** The `http_request` a robot receives: same id, path, query, headers and body, no device_id. */
robot_http_request forward_to_robot(app_http_request const& request);

/** The `event` apps receive for a robot's event: device, sequence number and time added. */
event forward_to_apps(robot_event const& robot_message, std::string device_id, std::uint64_t seq, timestamp ts);

/**
 * A robot event's JSON for apps split where its seq goes: `prefix + decimal seq + suffix` is
 * encode(e) with that seq. A broker numbers the event after it has been serialized (in a Redis
 * script, say) without parsing it again. `e.seq` must be set (any value).
 */
std::pair<std::string, std::string> encode_around_seq(event const& e);

/** robot_connected / robot_disconnected, the relay's presence events (no seq, no data). */
event presence_event(std::string device_id, bool connected, timestamp ts);

/** The `command_result` the app that sent the command receives: the robot's plus device_id. */
command_result forward_to_app(robot_command_result const& result, std::string device_id);

/** The `http_response` the app receives: the robot's plus device_id. */
http_response forward_to_app(robot_http_response const& response, std::string device_id);

/** The `webrtc_close` the other end of a session receives: reason ("" if none) and who closed. */
webrtc_close_notice forward_close(webrtc_close const& close, closed_by by);

} // namespace relay::protocol
