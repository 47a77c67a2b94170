#pragma once
// Each file routes_<area>.cpp adds its endpoints to the table.
#include <memory>

namespace relay::server {

class router;
class reset_notifier;

/** GET /health, /stats, /metrics. */
void add_ops_routes(router& r);

/** POST /api/auth/{register,login,refresh,logout,password-reset,password-reset/confirm};
 * password-reset tokens are handed to `notifier` (see api_reset_notifier.hpp). */
void add_auth_routes(router& r, std::shared_ptr<reset_notifier> notifier);

/** /api/devices, /api/devices/{id}, …/secret, …/members, …/members/{user_id}. */
void add_device_routes(router& r);

} // namespace relay::server
