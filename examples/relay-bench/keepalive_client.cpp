#include "keepalive_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

namespace relay::bench {
namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
} // namespace

keepalive_client::keepalive_client(net::any_io_executor executor, tcp::endpoint server, double timeout_s)
    : server_(server), stream_(std::move(executor)),
      timeout_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s)))
{
}

std::string keepalive_client::host() const
{
    return fmt::format("{}:{}", server_.address().to_string(), server_.port());
}

net::awaitable<bool> keepalive_client::exchange(request const& req, response& res, std::string& why)
{
    if (!open_) {
        stream_.expires_after(timeout_);
        auto [ec] = co_await stream_.async_connect(server_, use_tuple);
        if (ec) {
            why = "connect: " + ec.message();
            drop();
            net::steady_timer pause(stream_.get_executor(), std::chrono::milliseconds(10));
            co_await pause.async_wait(use_tuple);
            co_return false;
        }
        beast::error_code ignored;
        stream_.socket().set_option(tcp::no_delay(true), ignored);
        open_ = true;
        reconnects_ += first_ ? 0 : 1;
        first_ = false;
    }
    stream_.expires_after(timeout_);
    if (auto [ec, n] = co_await beast::http::async_write(stream_, req, use_tuple); ec) {
        why = "write: " + ec.message();
        drop();
        co_return false;
    }
    res = {};
    if (auto [ec, n] = co_await beast::http::async_read(stream_, buffer_, res, use_tuple); ec) {
        why = "read: " + ec.message();
        drop();
        co_return false;
    }
    if (!res.keep_alive())
        drop();
    co_return true;
}

void keepalive_client::drop()
{
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
    open_ = false;
}

void keepalive_client::shutdown()
{
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

} // namespace relay::bench
