// WebRTC signaling: nested objects and the messages shared by both sockets.
#include "field_io.hpp"

namespace relay::protocol {
namespace {

using detail::io_target;
namespace rules = detail::rules;

template <class Io> void describe(Io& io, io_target<Io, session_description>& m)
{
    io.field("type", m.type);
    io.field("sdp", m.sdp);
}

template <class Io> void describe(Io& io, io_target<Io, ice_candidate>& m)
{
    io.field("candidate", m.candidate);
    io.nullable("sdpMid", m.sdpMid);
    io.nullable("sdpMLineIndex", m.sdpMLineIndex);
    io.field("usernameFragment", m.usernameFragment);
}

template <class Io> void describe(Io& io, io_target<Io, ice_server>& m)
{
    io.one_or_many("urls", m.urls, rules::non_empty);
    io.check(!m.urls.empty(), "urls", "must list at least one URL");
    io.field("username", m.username);
    io.field("credential", m.credential);
}

template <class Io> void describe(Io& io, io_target<Io, ice_credentials>& m)
{
    io.field("urls", m.urls, rules::non_empty);
    io.field("username", m.username);
    io.field("credential", m.credential);
    io.field("ttl", m.ttl);
    io.check(m.ttl <= max_credentials_ttl, "ttl", "must be a number of seconds from 0 to 31536000");
    io.field("expires_at", m.expires_at);
    io.check(m.expires_at >= 0, "expires_at", "must not be negative");
    io.field("ice_servers", m.ice_servers);
}

template <class Io> void describe(Io& io, io_target<Io, webrtc_offer>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.field("sdp", m.sdp);
    io.check(m.sdp.type == sdp_type::offer, "sdp.type", "must be offer in a webrtc_offer");
}

template <class Io> void describe(Io& io, io_target<Io, webrtc_answer>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.field("sdp", m.sdp);
    io.check(m.sdp.type == sdp_type::answer || m.sdp.type == sdp_type::pranswer, "sdp.type",
             "must be answer or pranswer in a webrtc_answer");
}

template <class Io> void describe(Io& io, io_target<Io, webrtc_ice>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.required_nullable("candidate", m.candidate);
}

template <class Io> void describe(Io& io, io_target<Io, webrtc_close>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.field("reason", m.reason);
}

template <class Io> void describe(Io& io, io_target<Io, webrtc_close_notice>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.field("reason", m.reason);
    io.field("by", m.by);
}

template <class Io> void describe(Io& io, io_target<Io, webrtc_stats>& m)
{
    io.field("session_id", m.session_id, rules::session_id);
    io.field("state", m.state);
    io.field("connection_type", m.connection_type);
    // A failed connection never selected a candidate pair, so only a connected one must say.
    io.check(m.state != stats_state::connected || m.connection_type.has_value(), "connection_type",
             "is required when state is connected");
    io.field("rtt_ms", m.rtt_ms);
    // A bound, not only a sign: the relay stores it as an integer, and a double beyond int64
    // does not convert.
    io.check(!m.rtt_ms || (*m.rtt_ms >= 0 && *m.rtt_ms <= max_rtt_ms), "rtt_ms",
             "must be a number of milliseconds from 0 to 600000");
}

} // namespace

RELAY_PROTOCOL_DEFINE_CONVERSIONS(session_description)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(ice_candidate)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(ice_server)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(ice_credentials)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(webrtc_offer)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(webrtc_answer)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(webrtc_ice)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(webrtc_close)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(webrtc_close_notice)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(webrtc_stats)

} // namespace relay::protocol
