#include "shared_state.hpp"

namespace relay::server {

server_metrics::server_metrics(telemetry::registry& r)
    : registry(r),
      http_requests(r.get_counter("relay_http_requests_total", "HTTP requests answered.")),
      http_latency(r.get_histogram("relay_http_request_duration_seconds", "Time to answer an HTTP request.")),
      apps_connected(r.get_gauge("relay_connections", "Open authenticated WebSocket connections by kind.",
                                 {{"kind", "app"}})),
      robots_online(r.get_gauge("relay_connections", "Open authenticated WebSocket connections by kind.",
                                {{"kind", "robot"}})),
      webrtc_sessions(r.get_gauge("relay_webrtc_sessions_active", "WebRTC sessions in progress.")),
      messages_routed(r.get_counter("relay_messages_routed_total", "Messages delivered to a peer."))
{
}

shared_state::shared_state(server_options opts, telemetry::logger& l, telemetry::registry& r,
                           std::unique_ptr<store::store> s)
    : options(std::move(opts)),
      log(l),
      metrics(r),
      store(std::move(s)),
      jwt(options.jwt_secret),
      passwords(auth::scrypt_params{options.scrypt_log_n, 8, 1}),
      device_secrets(options.secret_key),
      broker(routing::replay_limits{options.replay_max_events, options.replay_max_age})
{
    health_checks.push_back({"store", [this] {
                                 auto r = store->check();
                                 return r ? std::string() : r.error().message();
                             }});
}

} // namespace relay::server
