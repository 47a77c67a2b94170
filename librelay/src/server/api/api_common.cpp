#include "server/api/api_common.hpp"

#include "server/blocking.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/services.hpp"

#include <relay/protocol/validation.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>

#include <charconv>

namespace relay::server {

or_answer<boost::json::object> parse_json_object(http_request const& req)
{
    boost::system::error_code ec;
    auto value = boost::json::parse(req.body(), ec);
    if (ec)
        return error_response(errc::bad_json, "the request body is not valid JSON");
    if (!value.is_object())
        return error_response(errc::bad_message, "the request body must be a JSON object");
    return std::move(value.as_object());
}

or_answer<std::optional<std::int64_t>> positive_param(std::string_view query, std::string_view name)
{
    auto text = query_param(query, name);
    if (!text)
        return std::optional<std::int64_t>{};
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size() || value <= 0)
        return error_response(errc::bad_message, "query parameter '" + std::string(name) + "' must be a positive integer");
    return std::optional<std::int64_t>{value};
}

or_answer<std::string> required_string(boost::json::object const& body, std::string_view field)
{
    auto const* v = body.if_contains(field);
    if (!v)
        return error_response(errc::bad_message, "missing field '" + std::string(field) + "'");
    if (!v->is_string())
        return error_response(errc::bad_message, "field '" + std::string(field) + "' must be a string");
    return std::string(v->as_string());
}

or_answer<std::optional<std::string>> optional_string(boost::json::object const& body, std::string_view field)
{
    auto const* v = body.if_contains(field);
    if (!v || v->is_null())
        return std::optional<std::string>();
    if (!v->is_string())
        return error_response(errc::bad_message, "field '" + std::string(field) + "' must be a string");
    return std::optional<std::string>(std::string(v->as_string()));
}

or_answer<std::string> authenticate(auth_service const& auth, request_context const& ctx)
{
    auto claims = authenticate_claims(auth, ctx);
    if (!claims)
        return claims.take_answer();
    return std::move(claims->sub);
}

or_answer<auth::jwt_claims> authenticate_claims(auth_service const& auth, request_context const& ctx)
{
    auto claims = auth.verify_access_claims(bearer_token(ctx.req));
    if (claims)
        return std::move(*claims);
    bool expired = claims.error() == make_error_code(errc::token_expired);
    auto answer = expired ? error_response(errc::token_expired)
                          : error_response(errc::unauthorized, "a valid bearer access token is required");
    // RFC 6750 §3: tell the client which scheme to use and that the token itself is the problem.
    answer.set(http::field::www_authenticate,
               expired ? R"(Bearer error="invalid_token", error_description="expired")" : "Bearer");
    return answer;
}

net::awaitable<or_answer<store::role>> require_role(runtime& rt, std::string const& user_id,
                                                    std::string const& device_id, store::role needed)
{
    // An id that cannot exist is answered like any unknown device, without asking the store.
    if (!protocol::is_valid_device_id(device_id))
        co_return error_response(errc::device_not_found);
    auto found = co_await run_blocking(rt.blocking, [&] { return rt.store->role_of(user_id, device_id); });
    if (!found)
        co_return store_failure(found.error());
    if (!*found)
        co_return error_response(errc::device_not_found);
    if (!protocol::role_allows(**found, needed))
        co_return error_response(errc::forbidden, "this needs the " + std::string(protocol::to_string(needed)) +
                                                      " role on the device (yours is " +
                                                      std::string(protocol::to_string(**found)) + ")");
    co_return **found;
}

net::awaitable<or_answer<device_caller>> authorize_device(request_context& ctx, runtime& rt, auth_service& auth,
                                                          store::role needed)
{
    auto user = authenticate(auth, ctx);
    if (!user)
        co_return user.take_answer();
    auto role = co_await require_role(rt, *user, ctx.param("id"), needed);
    if (!role)
        co_return role.take_answer();
    co_return device_caller{std::move(*user), *role};
}

http_response store_failure(boost::system::error_code ec)
{
    if (ec == make_error_code(errc::unavailable))
        return error_response(errc::unavailable, "the database is unavailable or busy; try again shortly");
    return error_response(errc::internal);
}

http_response store_failure(boost::system::error_code ec, errc expected)
{
    if (ec == make_error_code(expected))
        return error_response(expected);
    return store_failure(ec);
}

store::unix_seconds unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace relay::server
