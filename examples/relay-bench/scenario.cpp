#include "scenario.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <charconv>
#include <thread>

namespace relay::bench {

void peer_counts::record_end(ws_peer const& p, std::string const& why)
{
    (p.was_ready() ? closed : failed).fetch_add(1);
    std::lock_guard lock(mutex);
    if (first_failure.empty())
        first_failure = why;
}

std::string peer_counts::failure()
{
    std::lock_guard lock(mutex);
    return first_failure;
}

std::shared_ptr<peer_handlers const> counted_handlers(peer_counts& counts,
                                                      std::function<void(ws_peer&, std::string_view)> on_message,
                                                      std::function<void(ws_peer&)> on_ready)
{
    auto h = std::make_shared<peer_handlers>();
    h->on_ready = [&counts, on_ready = std::move(on_ready)](ws_peer& p) {
        counts.ready.fetch_add(1);
        if (on_ready)
            on_ready(p);
    };
    h->on_message = on_message ? std::move(on_message) : [](ws_peer&, std::string_view) {};
    h->on_closed = [&counts](ws_peer& p, std::string const& why) { counts.record_end(p, why); };
    return h;
}

net::ip::address_v4 source_address(std::size_t i, unsigned n)
{
    return net::ip::address_v4((127u << 24) | static_cast<unsigned>(2 + i % n));
}

std::shared_ptr<ws_peer> make_peer(bench_context& ctx, std::size_t i, peer_identity identity,
                                   std::shared_ptr<peer_handlers const> handlers, std::size_t node)
{
    auto context_index = i % ctx.pool.size();
    auto const& endpoint = ctx.node_endpoints.empty() ? ctx.endpoint : ctx.node_endpoints[node % ctx.node_endpoints.size()];
    return std::make_shared<ws_peer>(ctx.pool.context(context_index), endpoint,
                                     source_address(i, ctx.opts.source_addresses), std::move(identity),
                                     std::move(handlers), i, context_index);
}

bool connect_all(bench_context& ctx, std::vector<std::shared_ptr<ws_peer>> const& peers, peer_counts& counts,
                 unsigned concurrency, std::string& why)
{
    auto base_ready = counts.ready.load();
    auto base_failed = counts.failed.load();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(ctx.opts.timeout_s);
    std::size_t started = 0;
    for (;;) {
        auto ready = counts.ready.load() - base_ready;
        auto failed = counts.failed.load() - base_failed;
        if (failed > 0) {
            why = counts.failure();
            return false;
        }
        if (ready == peers.size())
            return true;
        if (std::chrono::steady_clock::now() > deadline) {
            why = std::to_string(ready) + " of " + std::to_string(peers.size()) + " connections ready at the timeout";
            return false;
        }
        while (started < peers.size() && started - ready < concurrency)
            peers[started++]->start();
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
}

void close_all(bench_context& ctx, std::vector<std::shared_ptr<ws_peer>> const& peers, peer_counts& counts)
{
    for (auto const& p : peers)
        p->post_close();
    // `counts` belongs to exactly these peers: each ends once, by this close or earlier.
    wait_until([&] { return counts.closed.load() + counts.failed.load() >= peers.size(); }, ctx.opts.timeout_s);
}

int end_run(bench_context& ctx, std::vector<std::shared_ptr<ws_peer>> const& robots, peer_counts& robot_counts,
            std::vector<std::shared_ptr<ws_peer>> const& apps, peer_counts& app_counts, int status)
{
    if (robot_counts.closed.load() + app_counts.closed.load() > 0) {
        ctx.out.note("a connection was dropped: " + robot_counts.failure() + app_counts.failure());
        status = 1;
    }
    close_all(ctx, robots, robot_counts);
    close_all(ctx, apps, app_counts);
    ctx.pool.barrier();
    return status;
}

app_robot_pair make_app_robot_pair(bench_context& ctx, peer_counts& app_counts,
                                   std::function<void(ws_peer&, std::string_view)> on_app_message,
                                   peer_counts& robot_counts, std::size_t robot_node)
{
    auto accounts = ctx.setup.create_accounts(1);
    auto devices = ctx.setup.create_devices(accounts, {0});
    app_robot_pair pair;
    pair.device_id = devices[0].device_id;
    pair.app = make_peer(ctx, 0, peer_identity{false, accounts[0].access_token, {}, {}},
                         counted_handlers(app_counts, std::move(on_app_message)), 0);
    pair.robot = make_peer(ctx, 1, peer_identity{true, {}, pair.device_id, devices[0].secret},
                           counted_handlers(robot_counts, answer_command), robot_node);
    return pair;
}

void answer_command(ws_peer& robot, std::string_view text)
{
    if (text.find(R"("type":"command")") == std::string_view::npos)
        return;
    robot.send(fmt::format(R"({{"type":"command_result","id":"{}","ok":true}})", string_after(text, R"("id":")")));
}

void config_nodes(bench_context& ctx)
{
    boost::json::array nodes;
    for (auto const* n : ctx.nodes)
        nodes.push_back(boost::json::object{{"port", n->port()}, {"pid", n->pid()}});
    ctx.out.config("nodes", std::move(nodes));
    if (ctx.opts.target.redis_pid > 0)
        ctx.out.config("redis_pid", ctx.opts.target.redis_pid);
}

double nodes_cpu_seconds(bench_context& ctx)
{
    double total = 0;
    for (auto const* n : ctx.nodes) {
        auto cpu = read_cpu_seconds(n->pid());
        if (cpu < 0)
            return -1;
        total += cpu;
    }
    return total;
}

void config_population(bench_context& ctx)
{
    ctx.out.config("robots", ctx.opts.robots);
    ctx.out.config("apps", ctx.opts.apps);
    ctx.out.config("users", ctx.opts.users);
}

bool wait_until(std::function<bool()> const& done, double seconds, int poll_ms)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    }
    return true;
}

void sleep_seconds(double seconds)
{
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

std::string_view string_after(std::string_view text, std::string_view key)
{
    auto at = text.find(key);
    if (at == std::string_view::npos)
        return {};
    auto begin = at + key.size();
    auto end = text.find('"', begin);
    return end == std::string_view::npos ? std::string_view() : text.substr(begin, end - begin);
}

std::int64_t number_after(std::string_view text, std::string_view key)
{
    auto at = text.find(key);
    if (at == std::string_view::npos)
        return -1;
    std::int64_t n = -1;
    auto const* begin = text.data() + at + key.size();
    auto [end, ec] = std::from_chars(begin, text.data() + text.size(), n);
    return ec == std::errc() && n >= 0 ? n : -1;
}

std::int64_t id_number(std::string_view id, char prefix)
{
    if (id.size() < 2 || id[0] != prefix)
        return -1;
    std::int64_t n = -1;
    auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), n);
    return ec == std::errc() && end == id.data() + id.size() ? n : -1;
}

long robots_online(bench_context& ctx)
{
    boost::system::error_code ec;
    auto v = boost::json::parse(ctx.setup.stats(), ec);
    if (ec || !v.is_object())
        return -1;
    auto const* n = v.as_object().if_contains("robots_online");
    return n && n->is_number() ? static_cast<long>(n->to_number<double>()) : -1;
}

} // namespace relay::bench
