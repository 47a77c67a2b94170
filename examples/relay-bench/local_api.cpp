#include "local_api.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

#include <exception>

namespace relay::bench {
namespace http = beast::http;
namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

std::string status_document(std::size_t padding)
{
    auto doc = std::string(R"({"state":"idle","battery":87,"mission":null,"docked":true)");
    if (padding > 0)
        doc += R"(,"pad":")" + std::string(padding, 'x') + '"';
    return doc + '}';
}

void log_exception(std::exception_ptr e)
{
    try {
        if (e)
            std::rethrow_exception(e);
    } catch (std::exception const& ex) {
        fmt::print(stderr, "relay-bench: local API: {}\n", ex.what());
    }
}

} // namespace

local_api::local_api(std::size_t padding)
    : acceptor_(ioc_, tcp::endpoint(net::ip::address_v4::loopback(), 0)), status_body_(status_document(padding))
{
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(ioc_, accept_loop(), log_exception);
    thread_ = std::thread([this] { ioc_.run(); });
}

local_api::~local_api()
{
    ioc_.stop();
    thread_.join();
}

net::awaitable<void> local_api::accept_loop()
{
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (ec == net::error::operation_aborted)
            co_return;
        if (!ec)
            net::co_spawn(ioc_, serve(std::move(socket)), log_exception);
    }
}

net::awaitable<void> local_api::serve(tcp::socket socket)
{
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> req;
        auto [read_ec, n] = co_await http::async_read(socket, buffer, req, use_tuple);
        if (read_ec)
            break; // the client closed, or sent garbage: either way this connection is done
        bool found = req.method() == http::verb::get && req.target() == "/status";
        http::response<http::string_body> res{found ? http::status::ok : http::status::not_found, req.version()};
        res.set(http::field::content_type, "application/json");
        res.body() = found ? status_body_ : R"({"error":"not found"})";
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [write_ec, m] = co_await http::async_write(socket, res, use_tuple);
        requests_.fetch_add(1, std::memory_order_relaxed);
        if (write_ec || !res.keep_alive())
            break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

} // namespace relay::bench
