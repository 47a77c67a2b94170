// Messages the relay sends on /ws/device.
#include "field_io.hpp"

namespace relay::protocol {
namespace {

using detail::io_target;
namespace rules = detail::rules;

template <class Io> void describe(Io& io, io_target<Io, auth_challenge>& m)
{
    io.field("nonce", m.nonce, rules::non_empty);
}

template <class Io> void describe(Io& io, io_target<Io, device_auth_ok>& m)
{
    io.field("protocol", m.protocol);
    io.check(m.protocol >= 1, "protocol", "must be at least 1");
    io.field("device_id", m.device_id, rules::device_id);
}

template <class Io> void describe(Io& io, io_target<Io, robot_command>& m)
{
    io.field("id", m.id, rules::message_id);
    io.field("from_user", m.from_user, rules::message_id);
    io.field("command", m.command, rules::message_id);
    io.field("data", m.data);
}

template <class Io> void describe(Io& io, io_target<Io, robot_webrtc_request>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.field("from_user", m.from_user, rules::message_id);
    io.field("media", m.media);
    io.field("quality", m.quality);
    io.field("turn_credentials", m.turn_credentials);
    io.field("replaces", m.replaces, rules::session_id);
}

template <class Io> void describe(Io& io, io_target<Io, robot_http_request>& m)
{
    io.field("id", m.id, rules::message_id);
    detail::describe_http_request(io, m);
}

template <class Io> void describe(Io& io, io_target<Io, turn_credentials>& m)
{
    io.field("credentials", m.credentials);
    io.field("ref", m.ref, rules::message_id);
}

template <class Io> void describe(Io& io, io_target<Io, event_ack>& m)
{
    io.field("ref", m.ref, rules::message_id);
    io.field("seq", m.seq);
}

} // namespace

RELAY_PROTOCOL_DEFINE_CONVERSIONS(auth_challenge)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(device_auth_ok)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(robot_command)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(robot_webrtc_request)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(robot_http_request)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(turn_credentials)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(event_ack)

} // namespace relay::protocol
