#include "server/ws/websocket_upgrade.hpp"

#include "server/ws/app_session.hpp"
#include "server/ws/device_session.hpp"
#include "server/http/http_util.hpp"
#include "server/services.hpp"

#include <boost/beast/http/write.hpp>

namespace relay::server {

net::awaitable<void> upgrade_websocket(std::shared_ptr<services> const& state, maybe_tls_stream& stream,
                                       http_request& req, std::string const& client)
{
    std::string_view target(req.target().data(), req.target().size());
    auto path = target.substr(0, target.find('?'));
    if (state->rt.stopping) {
        auto res = error_response(errc::unavailable, "the relay is shutting down; reconnect shortly");
        res.keep_alive(false);
        co_await http::async_write(stream, res, use_tuple);
        co_return;
    }
    // The session takes the stream and the request and runs on its own; this HTTP connection's
    // coroutine frames and buffers end now instead of living as long as the session.
    if (path == "/ws/app") {
        ws_connection::start(std::make_shared<app_session>(state, std::move(stream), std::move(req), client));
        co_return;
    }
    if (path == "/ws/device") {
        ws_connection::start(std::make_shared<device_session>(state, std::move(stream), std::move(req), client));
        co_return;
    }
    auto res = error_response(errc::not_found, "no WebSocket endpoint at " + std::string(path));
    res.keep_alive(false);
    state->rt.log.info("ws_rejected", {{"path", path}, {"client", client}});
    co_await http::async_write(stream, res, use_tuple);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

} // namespace relay::server
