#pragma once
// Each file routes_<area>.cpp adds its endpoints to the table.
#include <cstddef>
#include <memory>

namespace relay::telemetry {
class logger;
class registry;
} // namespace relay::telemetry

namespace relay::turn {
class provider;
} // namespace relay::turn

namespace relay::server {

struct server_options;

class router;
class reset_notifier;

/** GET /health and /stats, and GET /metrics unless `with_metrics` is false (the private
 * metrics listener serves it instead). */
void add_ops_routes(router& r, bool with_metrics = true);

/** GET /metrics alone: the route table of the private metrics listener. */
void add_metrics_route(router& r);

/** POST /api/auth/{register,login,refresh,logout,password-reset,password-reset/confirm};
 * password-reset tokens are handed to `notifier` (see api_reset_notifier.hpp). */
void add_auth_routes(router& r, std::shared_ptr<reset_notifier> notifier);

/** /api/devices, /api/devices/{id}, …/secret, …/members, …/members/{user_id}. */
void add_device_routes(router& r);

/** GET and POST /api/turn/credentials (routes_turn.cpp). */
void add_turn_routes(router& r);

/** The TURN provider RELAY_TURN_PROVIDER names, configured from `options`. Throws
 * std::invalid_argument when the configuration is unusable. */
std::shared_ptr<turn::provider> make_turn_provider(server_options const& options, telemetry::logger& log,
                                                   telemetry::registry& metrics);

/** ANY /api/devices/{id}/rest/{path...}: the REST tunnel (contract section 5), whose requests
 * may carry bodies up to `body_max` bytes (RELAY_TUNNEL_BODY_MAX). */
void add_tunnel_routes(router& r, std::size_t body_max);

} // namespace relay::server
