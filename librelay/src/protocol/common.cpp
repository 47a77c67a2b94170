// The enums' names and the messages shared by both sockets: ping, pong, error.
#include "field_io.hpp"

namespace relay::protocol {

#define RELAY_PROTOCOL_DEFINE_ENUM(E)                                                                               \
    std::string_view to_string(E value) noexcept { return detail::enum_to_string(value); }                         \
    template <> std::optional<E> from_string<E>(std::string_view text) noexcept                                     \
    {                                                                                                               \
        return detail::enum_from_string<E>(text);                                                                   \
    }

RELAY_PROTOCOL_DEFINE_ENUM(role)
RELAY_PROTOCOL_DEFINE_ENUM(media)
RELAY_PROTOCOL_DEFINE_ENUM(quality)
RELAY_PROTOCOL_DEFINE_ENUM(closed_by)
RELAY_PROTOCOL_DEFINE_ENUM(connection_type)
RELAY_PROTOCOL_DEFINE_ENUM(stats_state)
RELAY_PROTOCOL_DEFINE_ENUM(sdp_type)

#undef RELAY_PROTOCOL_DEFINE_ENUM

namespace {

using detail::io_target;
namespace rules = detail::rules;

template <class Io> void describe(Io& io, io_target<Io, ping>& m)
{
    io.field("id", m.id, rules::message_id);
}

template <class Io> void describe(Io& io, io_target<Io, pong>& m)
{
    io.field("id", m.id, rules::message_id);
    io.field("ts", m.ts);
}

template <class Io> void describe(Io& io, io_target<Io, error>& m)
{
    io.field("code", m.code);
    // The contract's robot auth failure is {"type":"error","code":"UNAUTHORIZED"}: no message.
    io.defaulted("message", m.message, std::string(default_message(m.code)));
    io.field("ref", m.ref, rules::message_id);
}

} // namespace

RELAY_PROTOCOL_DEFINE_CONVERSIONS(ping)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(pong)
RELAY_PROTOCOL_DEFINE_CONVERSIONS(error)

} // namespace relay::protocol
