#include "http_load.hpp"

#include "keepalive_client.hpp"
#include "scenario.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <fmt/format.h>

#include <exception>

namespace relay::bench {
namespace http = beast::http;
namespace {

/** Sends the plan's request back to back on one keep-alive connection until `stop_at`,
 * counting what completes in [measure_from, stop_at). */
net::awaitable<void> drive(std::shared_ptr<http_load_plan const> shared_plan, std::int64_t measure_from,
                           std::int64_t stop_at, std::shared_ptr<http_load_result> tally)
{
    auto const& plan = *shared_plan;
    keepalive_client client(co_await net::this_coro::executor, plan.server, plan.timeout_s);
    keepalive_client::request req{http::verb::get, plan.target, 11};
    req.set(http::field::host, client.host());
    if (!plan.bearer.empty())
        req.set(http::field::authorization, "Bearer " + plan.bearer);
    req.keep_alive(true);
    keepalive_client::response res;
    std::string why;
    while (now_ns() < stop_at) {
        auto sent = now_ns();
        bool answered = co_await client.exchange(req, res, why);
        auto done = now_ns();
        if (!answered) {
            if (done >= measure_from)
                tally->record_error(why);
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
    }
    tally->reconnects = client.reconnects();
    client.shutdown();
}

} // namespace

bool run_clients(io_pool& pool, std::size_t count, std::function<net::awaitable<void>(std::size_t)> const& client,
                 std::string const& what, double seconds)
{
    auto stopped = std::make_shared<std::atomic<std::size_t>>(0);
    for (std::size_t i = 0; i < count; ++i)
        net::co_spawn(pool.context(i), client(i), [stopped, what](std::exception_ptr e) {
            try {
                if (e)
                    std::rethrow_exception(e);
            } catch (std::exception const& ex) {
                fmt::print(stderr, "relay-bench: {}: {}\n", what, ex.what());
            }
            stopped->fetch_add(1, std::memory_order_release);
        });
    return wait_until([&] { return stopped->load(std::memory_order_acquire) == count; }, seconds, 5);
}

http_load_result run_http_load(io_pool& pool, http_load_plan const& plan)
{
    auto const shared_plan = std::make_shared<http_load_plan const>(plan);
    std::vector<std::shared_ptr<http_load_result>> tallies;
    for (unsigned i = 0; i < plan.connections; ++i)
        tallies.push_back(std::make_shared<http_load_result>());
    auto const measure_from = now_ns() + static_cast<std::int64_t>(plan.warmup_s * 1e9);
    auto const stop_at = measure_from + static_cast<std::int64_t>(plan.duration_s * 1e9);
    bool all_stopped = run_clients(
        pool, plan.connections, [&](std::size_t i) { return drive(shared_plan, measure_from, stop_at, tallies[i]); },
        "http client", plan.warmup_s + plan.duration_s + plan.timeout_s + 5);

    http_load_result out;
    out.seconds = plan.duration_s;
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
