// Messages a robot sends on /ws/device.
#include "field_io.hpp"

namespace relay::protocol {
namespace {

using detail::io_target;
namespace rules = detail::rules;

template <class Io> void describe(Io& io, io_target<Io, device_auth>& m)
{
    io.field("device_id", m.device_id, rules::device_id);
    io.field("signature", m.signature, rules::non_empty);
}

template <class Io> void describe(Io& io, io_target<Io, hello>& m)
{
    io.field("capabilities", m.capabilities);
    io.field("firmware", m.firmware);
}

template <class Io> void describe(Io& io, io_target<Io, robot_event>& m)
{
    io.field("event", m.event, rules::event_name);
    // Only the relay may say that a robot came or went.
    io.check(!is_presence_event(m.event), "event", "is reserved for the relay's presence events");
    io.field("data", m.data);
    io.field("id", m.id, rules::message_id);
}

template <class Io> void describe(Io& io, io_target<Io, robot_command_result>& m)
{
    io.field("id", m.id, rules::message_id);
    detail::describe_command_outcome(io, m);
}

template <class Io> void describe(Io& io, io_target<Io, robot_http_response>& m)
{
    io.field("id", m.id, rules::message_id);
    detail::describe_http_response(io, m);
}

template <class Io> void describe(Io& io, io_target<Io, turn_credentials_request>& m)
{
    io.field("id", m.id, rules::message_id);
}

} // namespace

RELAY_PROTOCOL_DEFINE_CONVERSIONS(device_auth)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(hello)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(robot_event)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(robot_command_result)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(robot_http_response)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(turn_credentials_request)

} // namespace relay::protocol
