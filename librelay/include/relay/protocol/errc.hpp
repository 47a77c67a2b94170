#pragma once
/** @file
 * The relay's error codes: one enum for every code that crosses the wire (socket `error`
 * messages and HTTP `{"error":{"code":…}}` bodies), with its wire name, HTTP status and default
 * text in one table (src/protocol/errc.cpp). Also usable as a boost::system::error_code.
 */
#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>
#include <type_traits>

namespace relay {

/** Every error code of the wire contract (section 7) plus the HTTP-only ones (section 2, 5). */
enum class errc {
    // socket and HTTP (contract section 7)
    bad_json = 1,
    bad_message,
    unknown_type,
    unauthorized,
    token_expired,
    forbidden,
    device_not_found,
    device_offline,
    device_timeout,
    session_not_found,
    session_limit,
    rate_limited,
    message_too_large,
    internal,
    // HTTP only (contract sections 2 and 5)
    email_taken,
    invalid_email,
    weak_password,
    invalid_credentials,
    registration_closed,
    device_exists,
    user_not_found,
    invalid_token,
    path_not_allowed,
    body_too_large,
    device_bad_response,
    not_found,
    method_not_allowed,
    turn_unavailable,
    unavailable,
    // several nodes (contract section 8: RELAY_REDIS_URL)
    node_unreachable,
};

/** The code as it appears on the wire, e.g. "DEVICE_OFFLINE". */
std::string_view wire_name(errc code) noexcept;

/** Inverse of wire_name; nullopt for a name the contract does not define. */
std::optional<errc> errc_from_wire_name(std::string_view name) noexcept;

/** The HTTP status an HTTP answer carrying this code uses, e.g. 503 for DEVICE_OFFLINE. */
unsigned http_status(errc code) noexcept;

/** A human sentence for the code, used when the caller has nothing more specific to say. */
std::string_view default_message(errc code) noexcept;

/** The category behind relay::errc error codes; its name is "relay". */
boost::system::error_category const& relay_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), relay_category()};
}

} // namespace relay

namespace boost::system {
template <> struct is_error_code_enum<relay::errc> : std::true_type {};
} // namespace boost::system
