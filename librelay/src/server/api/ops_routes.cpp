#include "server/blocking.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"
#include "server/shared_state.hpp"

#include <relay/version.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>

namespace relay::server {
namespace {

std::int64_t uptime_seconds(shared_state const& state)
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - state.started).count();
}

net::awaitable<http_response> health(request_context& ctx)
{
    auto& state = ctx.state;
    // Probes touch the store and remote providers, so they run on the blocking pool; callers
    // within a second share one run (health_cache).
    auto failures = co_await run_blocking(state.blocking, [&state] { return state.health.failures(state.health_checks); });
    boost::json::object body{{"status", failures.empty() ? "ok" : "degraded"},
                             {"version", relay::version},
                             {"uptime_s", uptime_seconds(state)}};
    if (!failures.empty()) {
        body["checks"] = std::move(failures);
        co_return json_response(http::status::service_unavailable, body);
    }
    co_return json_response(http::status::ok, body);
}

net::awaitable<http_response> stats(request_context& ctx)
{
    auto const& m = ctx.state.metrics;
    // Counters only: nothing here identifies a user or a device.
    co_return json_response(http::status::ok,
                            boost::json::object{{"robots_online", m.robots_online.value()},
                                                {"apps_connected", m.apps_connected.value()},
                                                {"webrtc_sessions", m.webrtc_sessions.value()},
                                                {"messages_routed", m.messages_routed.value()},
                                                {"http_requests", m.http_requests.value()},
                                                {"uptime_s", uptime_seconds(ctx.state)}});
}

net::awaitable<http_response> metrics(request_context& ctx)
{
    http_response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = ctx.state.metrics.registry.render();
    res.prepare_payload();
    co_return res;
}

} // namespace

void add_ops_routes(router& r, bool with_metrics)
{
    r.add(http::verb::get, "/health", health);
    r.add(http::verb::get, "/stats", stats);
    if (with_metrics)
        add_metrics_route(r);
}

void add_metrics_route(router& r)
{
    r.add(http::verb::get, "/metrics", metrics);
}

} // namespace relay::server
