// GET and POST /api/turn/credentials (contract section 2): ICE credentials for a device the
// caller may access, from the configured TURN provider. docs/webrtc.md describes the providers.
#include "server/api/api_common.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"
#include "server/services.hpp"
#include "server/turn_credentials.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/value_from.hpp>

namespace relay::server {
namespace {

/** The credentials answer for `user_id` asking about `device_id`. */
net::awaitable<http_response> credentials_for(request_context& ctx, runtime& rt, std::string const& user_id,
                                              std::string const& device_id)
{
    // Any role will do: a viewer may watch video, and video needs ICE servers.
    auto role = co_await require_role(rt, user_id, device_id, store::role::viewer);
    if (!role) co_return role.take_answer();

    // The subject is the user: one cached Cloudflare credential serves all of a user's
    // sessions, and a TURN server's logs and quotas see who relays.
    // (A robot asking over its socket gets the same, under its device id: device_session.cpp.)
    auto issued = co_await issue_turn_credentials(rt, user_id);
    if (!issued)
        co_return error_response(errc::turn_unavailable, issued.error().reason);
    auto res = json_response(http::status::ok, boost::json::value_from(*issued));
    // A credential is personal and short-lived: no cache may keep or share it.
    res.set(http::field::cache_control, "no-store");
    co_return res;
}

// GET /api/turn/credentials?device_id=…
net::awaitable<http_response> get_credentials(request_context& ctx, runtime& rt, auth_service& auth)
{
    // Authentication comes first so an anonymous caller learns nothing about the other rules.
    auto user = authenticate(auth, ctx);
    if (!user) co_return user.take_answer();
    auto device_id = query_param(ctx.query, "device_id");
    if (!device_id || device_id->empty())
        co_return error_response(errc::bad_message, "missing query parameter 'device_id'");
    co_return co_await credentials_for(ctx, rt, *user, *device_id);
}

// POST /api/turn/credentials {"device_id"}
net::awaitable<http_response> post_credentials(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto user = authenticate(auth, ctx);
    if (!user) co_return user.take_answer();
    auto body = parse_json_object(ctx.req);
    if (!body) co_return body.take_answer();
    auto device_id = required_string(*body, "device_id");
    if (!device_id) co_return device_id.take_answer();
    co_return co_await credentials_for(ctx, rt, *user, *device_id);
}

} // namespace

void add_turn_routes(router& r, runtime& rt, auth_service& auth)
{
    r.add(http::verb::get, "/api/turn/credentials",
          [&rt, &auth](request_context& ctx) { return get_credentials(ctx, rt, auth); });
    r.add(http::verb::post, "/api/turn/credentials",
          [&rt, &auth](request_context& ctx) { return post_credentials(ctx, rt, auth); });
}

} // namespace relay::server
