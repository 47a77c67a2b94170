#include "server/http/http_session.hpp"

#include "server/http/client_address.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/services.hpp"
#include "server/http/maybe_tls_stream.hpp"
#include "server/http/tls.hpp"
#include "server/ws/websocket_upgrade.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <chrono>
#include <exception>

namespace relay::server {
namespace {

constexpr auto request_deadline = std::chrono::seconds(30);

// CORS: only the configured origins are echoed back; others get no CORS headers at all.
std::string allowed_origin(server_options const& options, http_request const& req)
{
    auto it = req.find(http::field::origin);
    if (it == req.end())
        return {};
    std::string_view origin(it->value().data(), it->value().size());
    auto const& allowed = options.cors_origins;
    if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end() ||
        std::find(allowed.begin(), allowed.end(), "*") != allowed.end())
        return std::string(origin);
    return {};
}

net::awaitable<http_response> answer(runtime& rt, router const& routes, http_request& req,
                                     std::string const& client)
{
    auto target = std::string_view(req.target().data(), req.target().size());
    auto q = target.find('?');
    request_context ctx{req,
                        std::string(target.substr(0, q)),
                        q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1)),
                        client,
                        {}};
    if (req.method() == http::verb::options && req.count(http::field::access_control_request_method)) {
        auto res = empty_response(http::status::no_content);
        res.set(http::field::access_control_allow_methods, "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        res.set(http::field::access_control_allow_headers, "Authorization, Content-Type");
        res.set(http::field::access_control_max_age, "600");
        co_return res;
    }
    try {
        co_return co_await routes.dispatch(ctx);
    } catch (std::exception const& e) {
        // A handler bug must cost one request, never the connection or the process.
        rt.log.error("http_handler_failed", {{"path", ctx.path}, {"what", e.what()}});
        co_return error_response(errc::internal);
    }
}

} // namespace

net::awaitable<void> serve_http(std::shared_ptr<services> state, router const& routes, tcp::socket socket)
{
    auto& rt = state->rt;
    beast::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    std::string const peer = ec ? std::string("unknown") : remote.address().to_string();
    std::string client = peer;
    socket.set_option(tcp::no_delay(true), ec);

    // With TLS configured, every connection starts with a handshake, bounded like a request.
    auto tls = rt.tls ? rt.tls->current() : nullptr;
    maybe_tls_stream stream = tls ? maybe_tls_stream(beast::tcp_stream(std::move(socket)), tls)
                                  : maybe_tls_stream(beast::tcp_stream(std::move(socket)));
    if (stream.is_tls()) {
        stream.tcp().expires_after(request_deadline);
        auto [tec] = co_await stream.tls().async_handshake(net::ssl::stream_base::server, use_tuple);
        if (tec) {
            rt.log.debug("tls_handshake_failed", {{"client", client}, {"error", tec.message()}});
            co_return;
        }
    }
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        // Beast checks Content-Length against body_limit while parsing the header, so the largest
        // limit goes first; the route's own is applied once the head names it.
        parser.body_limit(routes.largest_body_max());
        stream.tcp().expires_after(request_deadline);
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        if (hec) {
            if (hec == http::error::end_of_stream || hec == net::error::operation_aborted ||
                hec == beast::error::timeout || hec == net::error::connection_reset || hec == net::error::eof)
                break;
            auto res = hec == http::error::body_limit ? error_response(errc::body_too_large)
                                                      : error_response(errc::bad_message, "malformed HTTP request");
            res.keep_alive(false);
            co_await http::async_write(stream, res, use_tuple);
            break;
        }
        if (auto problem = framing_problem(parser.get()); !problem.empty()) {
            auto res = error_response(errc::bad_message, problem);
            res.keep_alive(false);
            co_await http::async_write(stream, res, use_tuple);
            break;
        }
        // Owned copy: the parser's message is moved out below.
        std::string path(parser.get().target().data(), parser.get().target().size());
        path.resize(std::min(path.size(), path.find('?')));

        client = client_address(rt.options.trusted_proxies, peer, parser.get());

        if (beast::websocket::is_upgrade(parser.get())) {
            stream.tcp().expires_never();
            auto req = parser.release();
            co_await upgrade_websocket(state, stream, req, client);
            co_return;
        }

        std::uint64_t limit = routes.find(parser.get().method(), path).body_max;
        if (parser.content_length().value_or(0) > limit) {
            auto res = error_response(errc::body_too_large);
            res.keep_alive(false);
            co_await http::async_write(stream, res, use_tuple);
            break;
        }
        parser.body_limit(limit); // for chunked bodies, whose size is known only as they arrive
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (bec) {
            if (bec == http::error::body_limit) {
                auto res = error_response(errc::body_too_large);
                res.keep_alive(false);
                co_await http::async_write(stream, res, use_tuple);
            }
            break;
        }

        auto start = std::chrono::steady_clock::now();
        ++rt.requests_in_flight;
        auto req = parser.release();
        auto res = co_await answer(rt, routes, req, client);
        if (auto origin = allowed_origin(rt.options, req); !origin.empty()) {
            res.set(http::field::access_control_allow_origin, origin);
            res.set(http::field::vary, "Origin");
        }
        bool keep = req.keep_alive() && !rt.stopping;
        res.keep_alive(keep);
        res.set(http::field::server, "relayd");

        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        rt.metrics.http_requests.inc();
        rt.metrics.http_latency.observe(seconds);
        // The query string is never logged: it may carry a token.
        rt.log.info("http_request", {{"method", std::string_view(req.method_string().data(), req.method_string().size())},
                                     {"path", path},
                                     {"status", res.result_int()},
                                     {"ms", seconds * 1000.0},
                                     {"client", client}});

        stream.tcp().expires_after(request_deadline);
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        // In flight until written: shutdown waits for the answer to reach the client.
        --rt.requests_in_flight;
        if (wec || !keep)
            break;
    }
    co_await close_after_answer(stream.tcp());
}

} // namespace relay::server
