#include "server/runtime.hpp"

#include <relay/protocol/codec.hpp>

#include <algorithm>
#include <utility>
#include <variant>

#include <stdexcept>

namespace relay::server {

namespace {

/** The wire type names of a variant's alternatives, in index order. */
template <class Variant> std::vector<std::string_view> variant_type_names()
{
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::vector<std::string_view>{std::variant_alternative_t<I, Variant>::type_name...};
    }(std::make_index_sequence<std::variant_size_v<Variant>>{});
}

tunnel_policy make_tunnel_policy(server_options const& o)
{
    std::string why;
    auto p = tunnel_policy::parse(o.tunnel_allow.empty() ? tunnel_policy::default_entries() : o.tunnel_allow, why);
    if (!p)
        throw std::invalid_argument(why);
    return *p;
}
} // namespace

server_metrics::server_metrics(telemetry::registry& r)
    : registry(r),
      http_requests(r.get_counter("relay_http_requests_total", "HTTP requests answered.")),
      http_latency(r.get_histogram("relay_http_request_duration_seconds", "Time to answer an HTTP request.")),
      apps_connected(r.get_gauge("relay_connections", "Open authenticated WebSocket connections by kind.",
                                 {{"kind", "app"}})),
      robots_online(r.get_gauge("relay_connections", "Open authenticated WebSocket connections by kind.",
                                {{"kind", "robot"}})),
      webrtc_sessions(r.get_gauge("relay_webrtc_sessions_active", "WebRTC sessions in progress.")),
      messages_routed(r.get_counter("relay_messages_routed_total", "Messages handed to a peer's connection.")),
      messages_in_app(r.get_counter("relay_messages_received_total", "WebSocket messages received, by kind of peer.",
                                    {{"kind", "app"}})),
      messages_in_robot(r.get_counter("relay_messages_received_total", "WebSocket messages received, by kind of peer.",
                                      {{"kind", "robot"}})),
      errors_sent(r.get_counter("relay_errors_sent_total", "error messages sent on the sockets.")),
      rate_limited(r.get_counter("relay_rate_limited_total", "Messages dropped for exceeding a rate limit.")),
      slow_consumer_drops(r.get_counter("relay_slow_consumer_drops_total",
                                        "Connections dropped for falling too far behind.")),
      replayed_events(r.get_counter("relay_replayed_events_total", "Events replayed for resume.")),
      duplicate_events(r.get_counter("relay_duplicate_events_total",
                                     "Robot events re-sent with an id the history still holds: acknowledged "
                                     "again, not delivered again.")),
      auth_failures_app(r.get_counter("relay_auth_failures_total", "Failed WebSocket authentications.",
                                      {{"kind", "app"}})),
      auth_failures_robot(r.get_counter("relay_auth_failures_total", "Failed WebSocket authentications.",
                                        {{"kind", "robot"}})),
      routing_latency(r.get_histogram("relay_routing_latency_seconds",
                                      "From a robot event's arrival to its hand-over to the broker (with the in-process broker: queued for the apps).")),
      app_out(r.get_counter("relay_messages_total", "WebSocket messages by direction, kind of peer and type.",
                            {{"direction", "out"}, {"kind", "app"}, {"type", "any"}})),
      robot_out(r.get_counter("relay_messages_total", "WebSocket messages by direction, kind of peer and type.",
                              {{"direction", "out"}, {"kind", "robot"}, {"type", "any"}}))
{
    auto by_type = [&r](std::string_view kind, auto names) {
        std::vector<telemetry::counter*> out;
        for (auto name : names)
            out.push_back(&r.get_counter("relay_messages_total", "WebSocket messages by direction, kind of peer and type.",
                                         {{"direction", "in"}, {"kind", std::string(kind)}, {"type", std::string(name)}}));
        return out;
    };
    app_in_by_type = by_type("app", variant_type_names<protocol::app_inbound>());
    robot_in_by_type = by_type("robot", variant_type_names<protocol::device_inbound>());
    for (int code = 0; code <= static_cast<int>(errc::unavailable); ++code)
        errors_by_code.push_back(&r.get_counter("relay_errors_total", "error messages sent on the sockets, by code.",
                                                {{"code", code == 0 ? std::string("NONE")
                                                                    : std::string(wire_name(static_cast<errc>(code)))}}));
}

unsigned blocking_thread_count(server_options const& options) noexcept
{
    if (options.blocking_threads != 0)
        return options.blocking_threads;
    if (!store::is_postgresql_location(options.database))
        return 2;
    return static_cast<unsigned>(std::max<std::size_t>(1, options.database_pool)) + 1;
}

runtime::runtime(server_options opts, telemetry::logger& l, telemetry::registry& r, std::unique_ptr<store::store> s,
                 std::shared_ptr<turn::provider> t, relay::server::hooks h)
    : options(std::move(opts)),
      log(l),
      metrics(r),
      store(std::move(s)),
      turn(std::move(t)),
      hooks(std::move(h)),
      tunnel_allow(make_tunnel_policy(options))
{
    health_checks.push_back({"store", [this] {
                                 auto checked = store->check();
                                 return checked ? std::string() : checked.error().message;
                             }});
    // /health says "degraded" while the TURN provider cannot issue credentials, or while the
    // self-probe finds a TURN URL that refuses them (docs/webrtc.md): both are shown, the
    // provider's answer first.
    health_checks.push_back({"turn", [this] {
                                 auto provider = turn->health();
                                 auto probed = turn_probe.problems();
                                 if (provider.empty() || probed.empty())
                                     return provider + probed;
                                 return provider + "; " + probed;
                             }});
}

boost::json::object health_cache::failures(std::vector<health_check> const& checks)
{
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (ran_at_ && now - *ran_at_ < std::chrono::seconds(1))
        return failures_;
    boost::json::object found;
    for (auto const& check : checks)
        if (auto problem = check.probe(); !problem.empty())
            found[check.name] = problem;
    failures_ = found;
    ran_at_ = std::chrono::steady_clock::now();
    return found;
}

} // namespace relay::server
