// Messages the relay sends on /ws/app.
#include "field_io.hpp"

namespace relay::protocol {
namespace {

using detail::io_target;
namespace rules = detail::rules;

template <class Io> void describe(Io& io, io_target<Io, device_summary>& m)
{
    io.field("device_id", m.device_id, rules::device_id);
    io.field("name", m.name);
    io.field("role", m.role);
    io.field("online", m.online);
}

template <class Io> void describe(Io& io, io_target<Io, app_auth_ok>& m)
{
    io.field("protocol", m.protocol);
    io.check(m.protocol >= 1, "protocol", "must be at least 1");
    io.field("user_id", m.user_id, rules::message_id);
    io.field("devices", m.devices);
}

template <class Io> void describe(Io& io, io_target<Io, auth_renewed>& m)
{
    io.field("expires_at", m.expires_at);
    io.check(m.expires_at > 0, "expires_at", "must be a positive unix time");
}

template <class Io> void describe(Io& io, io_target<Io, ack>& m)
{
    io.field("ref", m.ref, rules::message_id);
    io.field("device_id", m.device_id, rules::device_id);
}

template <class Io> void describe(Io& io, io_target<Io, command_result>& m)
{
    io.field("id", m.id, rules::message_id);
    io.field("device_id", m.device_id, rules::device_id);
    detail::describe_command_outcome(io, m);
}

template <class Io> void describe(Io& io, io_target<Io, event>& m)
{
    io.field("event", m.event, rules::event_name);
    io.field("device_id", m.device_id, rules::device_id);
    io.field("seq", m.seq);
    // Robot events are numbered so apps can see gaps; the relay's presence events are not.
    bool const presence = is_presence_event(m.event);
    io.check(presence || m.seq.has_value(), "seq", "is required for robot events");
    io.check(!presence || !m.seq.has_value(), "seq", "must be absent for presence events");
    io.field("ts", m.ts);
    io.field("data", m.data);
}

template <class Io> void describe(Io& io, io_target<Io, resumed>& m)
{
    io.field("device_id", m.device_id, rules::device_id);
    io.field("from_seq", m.from_seq);
    io.field("to_seq", m.to_seq);
    io.check(m.from_seq <= m.to_seq || m.from_seq - m.to_seq == 1, "from_seq",
             "must not exceed to_seq + 1");
    io.field("complete", m.complete);
}

template <class Io> void describe(Io& io, io_target<Io, webrtc_credentials>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.field("device_id", m.device_id, rules::device_id);
    io.field("credentials", m.credentials);
    io.field("ref", m.ref, rules::message_id);
}

template <class Io> void describe(Io& io, io_target<Io, http_response>& m)
{
    io.field("id", m.id, rules::message_id);
    io.field("device_id", m.device_id, rules::device_id);
    detail::describe_http_response(io, m);
}

} // namespace

RELAY_PROTOCOL_DEFINE_CONVERSIONS(device_summary)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(app_auth_ok)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(auth_renewed)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(ack)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(command_result)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(event)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(resumed)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(webrtc_credentials)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(http_response)

} // namespace relay::protocol
