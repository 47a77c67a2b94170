#include "server/blocking.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"
#include "server/services.hpp"

#include <relay/version.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>

namespace relay::server {
namespace {

std::int64_t uptime_seconds(runtime const& rt)
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - rt.started).count();
}

net::awaitable<http_response> health(request_context& ctx, runtime& rt)
{
    // Probes touch the store and remote providers, so they run on the blocking pool; callers
    // within a second share one run (health_cache).
    auto failures = co_await run_blocking(rt.blocking, [&rt] { return rt.health.failures(rt.health_checks); });
    boost::json::object body{{"status", failures.empty() ? "ok" : "degraded"},
                             {"version", relay::version},
                             {"uptime_s", uptime_seconds(rt)}};
    if (!failures.empty()) {
        body["checks"] = std::move(failures);
        co_return json_response(http::status::service_unavailable, body);
    }
    co_return json_response(http::status::ok, body);
}

net::awaitable<http_response> stats(request_context& ctx, runtime& rt, live_service& live)
{
    auto const& m = rt.metrics;
    // Counters only: nothing here identifies a user or a device.
    boost::json::object body{{"robots_online", m.robots_online.value()},
                             {"apps_connected", m.apps_connected.value()},
                             {"webrtc_sessions", m.webrtc_sessions.value()},
                             {"messages_routed", m.messages_routed.value()},
                             {"http_requests", m.http_requests.value()},
                             {"uptime_s", uptime_seconds(rt)}};
    if (live.cluster) {
        // This node among the others, and its Redis connection.
        auto s = live.cluster->current_status();
        body["node_id"] = live.cluster->node_id();
        body["redis"] = boost::json::object{{"up", s.up},
                                            {"rtt_ms", s.rtt_ms},
                                            {"reconnects", s.reconnects},
                                            {"subscriptions", s.subscriptions},
                                            {"robots_owned", s.robots}};
    }
    co_return json_response(http::status::ok, body);
}

net::awaitable<http_response> metrics(request_context& ctx, runtime& rt)
{
    http_response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = rt.metrics.registry.render();
    res.prepare_payload();
    co_return res;
}

} // namespace

void add_ops_routes(router& r, runtime& rt, live_service& live, bool with_metrics)
{
    r.add(http::verb::get, "/health", [&rt](request_context& ctx) { return health(ctx, rt); });
    r.add(http::verb::get, "/stats", [&rt, &live](request_context& ctx) { return stats(ctx, rt, live); });
    if (with_metrics)
        add_metrics_route(r, rt);
}

void add_metrics_route(router& r, runtime& rt)
{
    r.add(http::verb::get, "/metrics", [&rt](request_context& ctx) { return metrics(ctx, rt); });
}

} // namespace relay::server
