#include <relay/robot/dispatch.hpp>

#include <type_traits>
#include <utility>
#include <variant>

namespace relay::robot {
namespace {

template <class Handler, class Message> void call(Handler const& handler, Message const& message)
{
    if (handler)
        handler(message);
}

} // namespace

std::optional<protocol::decode_error> dispatch(std::string_view text, message_handlers const& handlers,
                                               std::size_t max_size)
{
    auto decoded = protocol::decode_device_outbound(text, max_size);
    if (!decoded)
        return decoded.error();
    // The codec decided the type; this only maps each alternative to its handler, and the
    // static_assert keeps the map complete when the protocol grows a message.
    std::visit(
        [&](auto const& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::auth_challenge>)
                call(handlers.auth_challenge, m);
            else if constexpr (std::is_same_v<T, protocol::device_auth_ok>)
                call(handlers.auth_ok, m);
            else if constexpr (std::is_same_v<T, protocol::robot_command>)
                call(handlers.command, m);
            else if constexpr (std::is_same_v<T, protocol::robot_webrtc_request>)
                call(handlers.webrtc_request, m);
            else if constexpr (std::is_same_v<T, protocol::webrtc_answer>)
                call(handlers.webrtc_answer, m);
            else if constexpr (std::is_same_v<T, protocol::webrtc_ice>)
                call(handlers.webrtc_ice, m);
            else if constexpr (std::is_same_v<T, protocol::webrtc_close_notice>)
                call(handlers.webrtc_close, m);
            else if constexpr (std::is_same_v<T, protocol::robot_http_request>)
                call(handlers.http_request, m);
            else if constexpr (std::is_same_v<T, protocol::turn_credentials>)
                call(handlers.turn_credentials, m);
            else if constexpr (std::is_same_v<T, protocol::event_ack>)
                call(handlers.ack, m);
            else if constexpr (std::is_same_v<T, protocol::pong>)
                call(handlers.pong, m);
            else if constexpr (std::is_same_v<T, protocol::error>)
                call(handlers.error, m);
            else
                static_assert(!sizeof(T), "a device_outbound message without a handler");
        },
        decoded.value());
    return std::nullopt;
}

} // namespace relay::robot
