#pragma once
#include "server/net.hpp"
#include "server/http/maybe_tls_stream.hpp"

#include <memory>
#include <string>

namespace relay::server {

struct services;

/**
 * Takes over a connection whose request asked for a WebSocket upgrade: /ws/app, /ws/device.
 * On success the stream and the request are moved into a session that runs detached; the
 * caller's connection is over either way. The session gets the services it uses from `state`.
 * Parameters are references into the caller's frame: see the GCC 12 note in blocking.hpp.
 */
net::awaitable<void> upgrade_websocket(std::shared_ptr<services> const& state, maybe_tls_stream& stream,
                                       http_request& req, std::string const& client);

} // namespace relay::server
