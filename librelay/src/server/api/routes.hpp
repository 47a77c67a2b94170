#pragma once
// Each file api/<area>_routes.cpp adds its endpoints to the table, handing each handler the
// services it uses (services.hpp); the references must outlive the table.
#include <memory>

namespace relay::server {

class router;
class reset_notifier;
struct runtime;
class auth_service;
struct live_service;
class static_site;

/** GET /health and /stats, and GET /metrics unless `with_metrics` is false (the private
 * metrics listener serves it instead). */
void add_ops_routes(router& r, runtime& rt, live_service& live, bool with_metrics = true);

/** GET /metrics alone: the route table of the private metrics listener. */
void add_metrics_route(router& r, runtime& rt);

/** POST /api/auth/{register,login,refresh,logout,password-reset,password-reset/confirm};
 * password-reset tokens are handed to `notifier` (relay/server/reset_notifier.hpp). */
void add_auth_routes(router& r, runtime& rt, auth_service& auth, std::shared_ptr<reset_notifier> notifier);

/** /api/devices, /api/devices/{id}, …/secret, …/members, …/members/{user_id}. */
void add_device_routes(router& r, runtime& rt, auth_service& auth, live_service& live);

/** GET /api/account/audit, DELETE /api/account and GET /api/devices/{id}/audit (account_routes.cpp). */
void add_account_routes(router& r, runtime& rt, auth_service& auth, live_service& live);

/** GET /api/devices/{id}/sessions: the device's WebRTC session history (session_routes.cpp). */
void add_session_routes(router& r, runtime& rt, auth_service& auth);

/** GET and POST /api/turn/credentials (turn_routes.cpp). */
void add_turn_routes(router& r, runtime& rt, auth_service& auth);

/** ANY /api/devices/{id}/rest/{path...}: the REST tunnel (contract section 5), whose requests
 * may carry bodies up to options.tunnel_body_max bytes (RELAY_TUNNEL_BODY_MAX). */
void add_tunnel_routes(router& r, runtime& rt, auth_service& auth, live_service& live);

/** GET /console/{path...}: the web console's files, with its Content-Security-Policy; GET /
 * redirects there (console_routes.cpp). Added only when the server has a console part. */
void add_console_routes(router& r, std::shared_ptr<static_site const> site);

} // namespace relay::server
