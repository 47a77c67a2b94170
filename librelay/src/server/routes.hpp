#pragma once
// Each file routes_<area>.cpp adds its endpoints to the table.
namespace relay::server {

class router;

/** GET /health, /stats, /metrics. */
void add_ops_routes(router& r);

} // namespace relay::server
