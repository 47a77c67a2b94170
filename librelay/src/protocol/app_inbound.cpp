// Messages an app sends on /ws/app.
#include "field_io.hpp"

namespace relay::protocol {
namespace {

using detail::io_target;
namespace rules = detail::rules;

template <class Io> void describe(Io& io, io_target<Io, app_auth>& m)
{
    io.field("token", m.token, rules::non_empty);
}

template <class Io> void describe(Io& io, io_target<Io, app_command>& m)
{
    io.field("device_id", m.device_id, rules::device_id);
    io.field("id", m.id, rules::message_id);
    io.field("command", m.command, rules::message_id);
    io.field("data", m.data);
}

template <class Io> void describe(Io& io, io_target<Io, app_webrtc_request>& m)
{
    io.field("device_id", m.device_id, rules::device_id);
    io.field("id", m.id, rules::message_id);
    io.defaulted("media", m.media, media::video);
    io.defaulted("quality", m.quality, quality::auto_);
    io.field("replaces", m.replaces, rules::session_id);
}

template <class Io> void describe(Io& io, io_target<Io, app_http_request>& m)
{
    io.field("device_id", m.device_id, rules::device_id);
    io.field("id", m.id, rules::message_id);
    detail::describe_http_request(io, m);
}

template <class Io> void describe(Io& io, io_target<Io, resume>& m)
{
    io.field("device_id", m.device_id, rules::device_id);
    io.field("after_seq", m.after_seq);
}

} // namespace

RELAY_PROTOCOL_DEFINE_CONVERSIONS(app_auth)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(app_command)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(app_webrtc_request)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(app_http_request)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(resume)

} // namespace relay::protocol
