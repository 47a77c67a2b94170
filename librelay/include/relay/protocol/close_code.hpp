#pragma once
/** @file WebSocket close codes of the wire contract (section 7), defined once. */
#include <cstdint>
#include <string_view>

namespace relay::protocol {

/** Close codes the relay sends; clients decide whether to reconnect from these. */
enum class close_code : std::uint16_t {
    going_away = 1001,        ///< relay shutting down
    message_too_big = 1009,   ///< a message exceeded read_message_max
    service_restart = 1012,   ///< relay restarting: reconnect (possibly elsewhere)
    auth_failed = 4401,       ///< authentication failed or timed out
    access_revoked = 4403,    ///< the user no longer has access to any device
    replaced = 4409,          ///< a newer connection of the same device took over
    rate_limit_abuse = 4429,  ///< kept exceeding the rate limit
};

/** A short reason string sent with the close frame. */
constexpr std::string_view close_reason(close_code c) noexcept
{
    switch (c) {
    case close_code::going_away: return "relay shutting down";
    case close_code::message_too_big: return "message too big";
    case close_code::service_restart: return "relay restarting";
    case close_code::auth_failed: return "authentication failed";
    case close_code::access_revoked: return "access revoked";
    case close_code::replaced: return "replaced by a newer connection";
    case close_code::rate_limit_abuse: return "rate limit exceeded";
    }
    return "";
}

} // namespace relay::protocol
