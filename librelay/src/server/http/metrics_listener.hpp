#pragma once
// The private metrics listener (RELAY_METRICS_HOST, RELAY_METRICS_PORT): a second socket that
// answers only what its own route table holds — GET /metrics — for a scraper on a private network.
#include "server/net.hpp"

#include <memory>

namespace relay::server {

struct shared_state;
class router;

/**
 * Serves one connection of the private metrics listener: plain HTTP/1.1 with keep-alive, even
 * when the main listener speaks TLS; no WebSocket upgrades and no CORS. Its requests are not
 * counted in the HTTP request metrics, so scraping does not move what it measures.
 */
net::awaitable<void> serve_metrics_http(std::shared_ptr<shared_state> state, router const& routes, tcp::socket socket);

} // namespace relay::server
