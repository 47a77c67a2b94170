#include "http_load.hpp"

#include "scenario.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

#include <exception>

namespace relay::bench {
namespace http = beast::http;
namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

/** Sends the plan's request back to back on one keep-alive connection until `stop_at`,
 * counting what completes in [measure_from, stop_at). */
net::awaitable<void> drive(std::shared_ptr<http_load_plan const> shared_plan, std::int64_t measure_from,
                           std::int64_t stop_at, std::shared_ptr<http_load_result> tally)
{
    auto const& plan = *shared_plan;
    beast::tcp_stream stream(co_await net::this_coro::executor);
    beast::flat_buffer buffer;
    http::request<http::empty_body> req{http::verb::get, plan.target, 11};
    req.set(http::field::host, fmt::format("{}:{}", plan.server.address().to_string(), plan.server.port()));
    if (!plan.bearer.empty())
        req.set(http::field::authorization, "Bearer " + plan.bearer);
    req.keep_alive(true);
    auto const timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(plan.timeout_s));
    bool open = false, first = true;
    auto drop = [&](std::string why) {
        if (now_ns() >= measure_from)
            tally->record_error(std::move(why));
        beast::error_code ignored;
        stream.socket().close(ignored);
        open = false;
    };

    while (now_ns() < stop_at) {
        if (!open) {
            stream.expires_after(timeout);
            auto [ec] = co_await stream.async_connect(plan.server, use_tuple);
            if (ec) {
                drop("connect: " + ec.message());
                // Not a busy loop against a server that refuses.
                net::steady_timer pause(stream.get_executor(), std::chrono::milliseconds(10));
                co_await pause.async_wait(use_tuple);
                continue;
            }
            beast::error_code ignored;
            stream.socket().set_option(tcp::no_delay(true), ignored);
            open = true;
            tally->reconnects += first ? 0 : 1;
            first = false;
        }
        auto sent = now_ns();
        stream.expires_after(timeout);
        if (auto [ec, n] = co_await http::async_write(stream, req, use_tuple); ec) {
            drop("write: " + ec.message());
            continue;
        }
        http::response<http::string_body> res;
        auto [ec, n] = co_await http::async_read(stream, buffer, res, use_tuple);
        auto done = now_ns();
        if (ec) {
            drop("read: " + ec.message());
            continue;
        }
        if (done >= measure_from && done < stop_at) {
            if (res.result_int() == 200) {
                ++tally->answered;
                tally->latency_ns.push_back(done - sent);
            } else {
                tally->record_error(fmt::format("{} {}", res.result_int(), res.body().substr(0, 200)));
            }
        }
        if (!res.keep_alive()) {
            beast::error_code ignored;
            stream.socket().close(ignored);
            open = false;
        }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

} // namespace

http_load_result run_http_load(io_pool& pool, http_load_plan const& plan)
{
    auto const shared_plan = std::make_shared<http_load_plan const>(plan);
    auto stopped = std::make_shared<std::atomic<unsigned>>(0);
    std::vector<std::shared_ptr<http_load_result>> tallies;
    auto const t0 = now_ns();
    auto const measure_from = t0 + static_cast<std::int64_t>(plan.warmup_s * 1e9);
    auto const stop_at = measure_from + static_cast<std::int64_t>(plan.duration_s * 1e9);
    for (unsigned i = 0; i < plan.connections; ++i) {
        auto tally = tallies.emplace_back(std::make_shared<http_load_result>());
        net::co_spawn(
            pool.context(i), drive(shared_plan, measure_from, stop_at, tally),
            [stopped](std::exception_ptr e) {
                try {
                    if (e)
                        std::rethrow_exception(e);
                } catch (std::exception const& ex) {
                    fmt::print(stderr, "relay-bench: http client: {}\n", ex.what());
                }
                stopped->fetch_add(1, std::memory_order_release);
            });
    }

    http_load_result out;
    out.seconds = plan.duration_s;
    bool all_stopped = wait_until([&] { return stopped->load(std::memory_order_acquire) == plan.connections; },
                                  plan.warmup_s + plan.duration_s + plan.timeout_s + 5, 5);
    if (!all_stopped) {
        // A client still in a call: its tally is not ours to read.
        out.first_error = "not every client stopped before the timeout";
        out.errors = 1;
        return out;
    }
    for (auto const& t : tallies)
        out.merge(*t);
    return out;
}

} // namespace relay::bench
