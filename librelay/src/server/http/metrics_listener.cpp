#include "server/http/http_session.hpp"

#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/runtime.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <exception>

namespace relay::server {
namespace {

constexpr auto request_deadline = std::chrono::seconds(30);

} // namespace

net::awaitable<void> serve_metrics_http(std::shared_ptr<runtime> rt, router const& routes, tcp::socket socket)
{
    beast::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    std::string const peer = ec ? std::string("unknown") : remote.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        // A scraper sends a GET without a body; anything larger is not for this listener.
        http::request_parser<http::string_body> parser;
        parser.header_limit(8 * 1024);
        parser.body_limit(1024);
        stream.expires_after(request_deadline);
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        auto rec = hec;
        std::string_view problem;
        if (!rec) {
            problem = framing_problem(parser.get());
            if (problem.empty()) {
                auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
                rec = bec;
            }
        }
        if (rec) {
            if (rec == http::error::end_of_stream || rec == net::error::operation_aborted ||
                rec == beast::error::timeout || rec == net::error::connection_reset || rec == net::error::eof)
                break;
            problem = "malformed HTTP request";
        }
        if (!problem.empty()) {
            auto res = error_response(errc::bad_message, problem);
            res.keep_alive(false);
            co_await http::async_write(stream, res, use_tuple);
            break;
        }
        auto req = parser.release();
        auto target = std::string_view(req.target().data(), req.target().size());
        auto q = target.find('?');
        request_context ctx{req, std::string(target.substr(0, q)),
                            q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1)),
                            peer, {}};
        http_response res;
        try {
            res = co_await routes.dispatch(ctx);
        } catch (std::exception const& e) {
            rt->log.error("http_handler_failed", {{"path", ctx.path}, {"what", e.what()}});
            res = error_response(errc::internal);
        }
        bool keep = req.keep_alive() && !rt->stopping;
        res.keep_alive(keep);
        res.set(http::field::server, "relayd");
        stream.expires_after(request_deadline);
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        if (wec || !keep)
            break;
    }
    co_await close_after_answer(stream);
}

} // namespace relay::server
