#pragma once
#include "net.hpp"

#include <memory>
#include <string>

namespace relay::server {

struct shared_state;

/** Takes over a connection whose request asked for a WebSocket upgrade: /ws/app, /ws/device. */
net::awaitable<void> upgrade_websocket(std::shared_ptr<shared_state> state, beast::tcp_stream stream,
                                       beast::flat_buffer buffer, http_request req, std::string client);

} // namespace relay::server
