#include <relay/protocol/errc.hpp>

#include <array>
#include <string>

namespace relay {
namespace {

struct errc_info {
    errc code;
    std::string_view name;
    unsigned status;
    std::string_view message;
};

// The single table of wire errors: name, HTTP status, default text.
constexpr std::array<errc_info, 30> table{{
    {errc::bad_json, "BAD_JSON", 400, "the message is not valid JSON"},
    {errc::bad_message, "BAD_MESSAGE", 400, "the message is missing a field or has a field of the wrong type"},
    {errc::unknown_type, "UNKNOWN_TYPE", 400, "unknown message type"},
    {errc::unauthorized, "UNAUTHORIZED", 401, "authentication required or failed"},
    {errc::token_expired, "TOKEN_EXPIRED", 401, "the access token has expired"},
    {errc::forbidden, "FORBIDDEN", 403, "your role on this device does not allow that"},
    {errc::device_not_found, "DEVICE_NOT_FOUND", 404, "no such device"},
    {errc::device_offline, "DEVICE_OFFLINE", 503, "the robot is not connected"},
    {errc::device_timeout, "DEVICE_TIMEOUT", 504, "the robot did not answer in time"},
    {errc::session_not_found, "SESSION_NOT_FOUND", 404, "no such WebRTC session"},
    {errc::session_limit, "SESSION_LIMIT", 429, "the device has too many WebRTC sessions"},
    {errc::rate_limited, "RATE_LIMITED", 429, "too many requests; slow down"},
    {errc::message_too_large, "MESSAGE_TOO_LARGE", 413, "the message is too large"},
    {errc::internal, "INTERNAL", 500, "internal error"},
    {errc::email_taken, "EMAIL_TAKEN", 409, "an account with this email already exists"},
    {errc::invalid_email, "INVALID_EMAIL", 400, "the email address is not valid"},
    {errc::weak_password, "WEAK_PASSWORD", 400, "the password must be at least 10 characters long"},
    {errc::invalid_credentials, "INVALID_CREDENTIALS", 401, "wrong email or password"},
    {errc::registration_closed, "REGISTRATION_CLOSED", 403, "registration is closed on this relay"},
    {errc::device_exists, "DEVICE_EXISTS", 409, "a device with this id already exists"},
    {errc::user_not_found, "USER_NOT_FOUND", 404, "no user with this email"},
    {errc::invalid_token, "INVALID_TOKEN", 400, "the token is invalid, used or expired"},
    {errc::path_not_allowed, "PATH_NOT_ALLOWED", 403, "this path is not allowed through the tunnel"},
    {errc::body_too_large, "BODY_TOO_LARGE", 413, "the body is too large"},
    {errc::device_bad_response, "DEVICE_BAD_RESPONSE", 502, "the robot's answer is not a valid HTTP answer"},
    {errc::not_found, "NOT_FOUND", 404, "no such endpoint"},
    {errc::method_not_allowed, "METHOD_NOT_ALLOWED", 405, "method not allowed on this endpoint"},
    {errc::turn_unavailable, "TURN_UNAVAILABLE", 503, "TURN credentials are unavailable right now"},
    {errc::unavailable, "UNAVAILABLE", 503, "the service is temporarily unavailable"},
    {errc::node_unreachable, "NODE_UNREACHABLE", 503,
     "the robot is served by another relay node, which cannot be reached right now; try again shortly"},
}};

errc_info const* find(errc code) noexcept
{
    for (auto const& e : table)
        if (e.code == code)
            return &e;
    return nullptr;
}

class category final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "relay"; }
    std::string message(int ev) const override
    {
        return std::string(default_message(static_cast<errc>(ev)));
    }
};

} // namespace

std::string_view wire_name(errc code) noexcept
{
    auto const* e = find(code);
    return e ? e->name : "INTERNAL";
}

std::optional<errc> errc_from_wire_name(std::string_view name) noexcept
{
    for (auto const& e : table)
        if (e.name == name)
            return e.code;
    return std::nullopt;
}

unsigned http_status(errc code) noexcept
{
    auto const* e = find(code);
    return e ? e->status : 500;
}

std::string_view default_message(errc code) noexcept
{
    auto const* e = find(code);
    return e ? e->message : "unknown error";
}

boost::system::error_category const& relay_category() noexcept
{
    static category const instance;
    return instance;
}

} // namespace relay
