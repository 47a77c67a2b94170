#pragma once
#include "server/net.hpp"

#include <memory>

namespace relay::server {

struct shared_state;
class router;

/**
 * Serves one accepted connection: HTTP/1.1 requests with keep-alive until the peer is done, or
 * hands the stream to a WebSocket session on an upgrade. Runs on the socket's own io_context.
 */
net::awaitable<void> serve_http(std::shared_ptr<shared_state> state, router const& routes, tcp::socket socket);

} // namespace relay::server
