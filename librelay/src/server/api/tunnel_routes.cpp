#include "server/api/api_common.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"
#include "server/services.hpp"
#include "server/tunnel.hpp"

#include <relay/protocol/base64.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace relay::server {
namespace {

constexpr std::string_view tunnel_content_security_policy = "default-src 'none'; sandbox";

bool is_json_content(http_request const& req)
{
    auto it = req.find(http::field::content_type);
    if (it == req.end())
        return false;
    std::string_view v(it->value().data(), it->value().size());
    return v.starts_with("application/json");
}

/** ANY /api/devices/{id}/rest/{path...}: the app's request becomes the robot's (section 5). */
net::awaitable<http_response> tunnel_route(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto user = authenticate(auth, ctx);
    if (!user)
        co_return user.take_answer();
    auto const& device_id = ctx.param("id");
    auto role = co_await require_role(rt, *user, device_id, store::role::viewer);
    if (!role)
        co_return role.take_answer();

    tunnel_request treq;
    treq.device_id = device_id;
    treq.user_id = *user;
    treq.role = *role;
    treq.method = std::string(ctx.req.method_string());
    treq.path = "/" + ctx.param("path");
    treq.query = ctx.query;
    for (auto const& field : ctx.req)
        if (!is_stripped_header(std::string_view(field.name_string().data(), field.name_string().size())))
            treq.headers.emplace(std::string(field.name_string()), std::string(field.value()));
    auto const& body = ctx.req.body();
    if (!body.empty()) {
        // JSON travels as JSON; anything else, or JSON that does not parse, as base64 bytes.
        boost::system::error_code ec;
        auto parsed = is_json_content(ctx.req) ? boost::json::parse(body, ec) : boost::json::value();
        if (is_json_content(ctx.req) && !ec)
            treq.body = std::move(parsed);
        else
            treq.body_b64 = protocol::base64_encode(body);
    }

    auto outcome = co_await tunnel_call(rt, live, treq);
    if (!outcome.response)
        co_return error_response(outcome.code, outcome.message);

    auto const& r = *outcome.response;
    http_response res{static_cast<http::status>(r.status), 11};
    for (auto const& [k, v] : r.headers) // tunnel_call removed those a robot may not set
        res.set(k, v);
    // A robot's HTML or script must not run as the relay's origin, which the browser console
    // shares: no type sniffing, and a sandbox with nothing allowed to load.
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Content-Security-Policy", tunnel_content_security_policy);
    if (r.body) {
        res.body() = boost::json::serialize(*r.body);
        if (res.find(http::field::content_type) == res.end())
            res.set(http::field::content_type, "application/json");
    } else if (r.body_b64) {
        res.body() = protocol::base64_decode(*r.body_b64).value_or(std::string());
    }
    res.prepare_payload();
    co_return res;
}

} // namespace

void add_tunnel_routes(router& r, runtime& rt, auth_service& auth, live_service& live)
{
    r.add(http::verb::unknown, "/api/devices/{id}/rest/{path...}",
          [&rt, &auth, &live](request_context& ctx) { return tunnel_route(ctx, rt, auth, live); },
          rt.options.tunnel_body_max);
}

} // namespace relay::server
