#include "websocket_upgrade.hpp"

#include "http_util.hpp"
#include "shared_state.hpp"

#include <boost/beast/http/write.hpp>

namespace relay::server {

net::awaitable<void> upgrade_websocket(std::shared_ptr<shared_state> state, beast::tcp_stream stream,
                                       beast::flat_buffer buffer, http_request req, std::string client)
{
    std::string_view target(req.target().data(), req.target().size());
    auto path = target.substr(0, target.find('?'));
    auto res = error_response(errc::not_found, "no WebSocket endpoint at " + std::string(path));
    res.keep_alive(false);
    state->log.info("ws_rejected", {{"path", path}, {"client", client}});
    co_await http::async_write(stream, res, use_tuple);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

} // namespace relay::server
