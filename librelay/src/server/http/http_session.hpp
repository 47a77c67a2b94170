#pragma once
// The two kinds of HTTP connection: the public listener's (API, WebSocket upgrades) and the
// private metrics listener's (RELAY_METRICS_HOST, RELAY_METRICS_PORT: GET /metrics only, for a
// scraper on a private network). Each runs on its socket's own io_context.
#include "server/net.hpp"

#include <memory>

namespace relay::server {

struct services;
struct runtime;
class router;

/**
 * Serves one accepted connection: HTTP/1.1 requests with keep-alive until the peer is done, or
 * hands the stream to a WebSocket session (which takes its services from `state`) on an upgrade.
 */
net::awaitable<void> serve_http(std::shared_ptr<services> state, router const& routes, tcp::socket socket);

/**
 * Serves one connection of the private metrics listener: plain HTTP/1.1 with keep-alive, even
 * when the main listener speaks TLS; no WebSocket upgrades and no CORS. Its requests are not
 * counted in the HTTP request metrics, so scraping does not move what it measures.
 */
net::awaitable<void> serve_metrics_http(std::shared_ptr<runtime> rt, router const& routes, tcp::socket socket);

} // namespace relay::server
