#include <relay/protocol/forwarding.hpp>

#include <relay/protocol/codec.hpp>
#include <relay/protocol/validation.hpp>

#include <boost/json/object.hpp>

namespace relay::protocol {

robot_command forward_to_robot(app_command const& command, std::string from_user)
{
    // Robots index into `data`; an object is what they can always do that with.
    boost::json::value data = command.data ? *command.data : boost::json::value(boost::json::object());
    return robot_command{command.id, std::move(from_user), command.command, std::move(data)};
}

robot_http_request forward_to_robot(app_http_request const& request)
{
    return robot_http_request{request.id,      request.method, request.path,    request.query,
                              request.headers, request.body,   request.body_b64};
}

event forward_to_apps(robot_event const& robot_message, std::string device_id, std::uint64_t seq, timestamp ts)
{
    return event{robot_message.event, std::move(device_id), seq, ts, robot_message.data};
}

std::pair<std::string, std::string> encode_around_seq(event const& e)
{
    event zero = e;
    zero.seq = 0;
    std::string text = encode(zero);
    // `seq` is written after `type`, `event` and `device_id`, whose values cannot hold an
    // unescaped quote, and before `data`: its first occurrence is the top-level field.
    constexpr std::string_view key = "\"seq\":0";
    auto at = text.find(key);
    auto hole = at + key.size() - 1;
    std::string suffix = text.substr(hole + 1);
    text.resize(hole); // the prefix keeps the encoded buffer: one copy less per event
    return {std::move(text), std::move(suffix)};
}

event presence_event(std::string device_id, bool connected, timestamp ts)
{
    return event{std::string(connected ? robot_connected_event : robot_disconnected_event), std::move(device_id),
                 std::nullopt, ts, std::nullopt};
}

command_result forward_to_app(robot_command_result const& result, std::string device_id)
{
    return command_result{result.id, std::move(device_id), result.ok, result.data, result.error};
}

http_response forward_to_app(robot_http_response const& response, std::string device_id)
{
    return http_response{response.id,      std::move(device_id), response.status,
                         response.headers, response.body,        response.body_b64};
}

webrtc_close_notice forward_close(webrtc_close const& close, closed_by by)
{
    return webrtc_close_notice{close.session_id, close.reason.value_or(std::string()), by};
}

} // namespace relay::protocol
