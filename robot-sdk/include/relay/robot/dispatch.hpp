#pragma once
/** @file
 * The robot's side of the codec: a text the relay sent on `/ws/device` in, the matching typed
 * handler called. The client runs every message through this; a robot with its own transport
 * (or a test) can use it directly. The messages are librelay's protocol structs, so the robot
 * and the relay cannot disagree on a field.
 */
#include <relay/protocol/codec.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

namespace relay::robot {

/** One handler per message the relay sends a robot; an unset handler ignores its message. */
struct message_handlers {
    std::function<void(protocol::auth_challenge const&)> auth_challenge;
    std::function<void(protocol::device_auth_ok const&)> auth_ok;
    std::function<void(protocol::robot_command const&)> command;
    std::function<void(protocol::robot_webrtc_request const&)> webrtc_request;
    std::function<void(protocol::webrtc_answer const&)> webrtc_answer;
    std::function<void(protocol::webrtc_ice const&)> webrtc_ice;
    std::function<void(protocol::webrtc_close_notice const&)> webrtc_close;
    std::function<void(protocol::robot_http_request const&)> http_request;
    std::function<void(protocol::turn_credentials const&)> turn_credentials;
    std::function<void(protocol::event_ack const&)> ack;
    std::function<void(protocol::pong const&)> pong;
    std::function<void(protocol::error const&)> error;
};

/**
 * Decodes `text` (relay → robot) and calls the one handler for its type. Returns nullopt when
 * it was a message (whether or not a handler was set), or why it is not one; no handler is
 * called then. Never throws on bad input; exceptions thrown by a handler propagate.
 */
std::optional<protocol::decode_error> dispatch(std::string_view text, message_handlers const& handlers,
                                               std::size_t max_size = protocol::default_max_message_size);

} // namespace relay::robot
