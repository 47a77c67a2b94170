// storm: N robots authenticate, all disconnect, then all reconnect and re-authenticate at the
// same moment (a relay restart or a home-router outage seen from the relay). Reports the time
// until the last one has auth_ok again and per-robot percentiles, split into TCP connect,
// upgrade and challenge-response.
#include "latency.hpp"
#include "scenario.hpp"

#include <fmt/format.h>

namespace relay::bench {

int run_storm(bench_context& ctx)
{
    auto const& o = ctx.opts;
    auto& out = ctx.out;
    config_population(ctx);

    auto accounts = ctx.setup.create_accounts(o.users);
    std::vector<std::size_t> owners;
    for (std::size_t r = 0; r < o.robots; ++r)
        owners.push_back(r % o.users);
    auto devices = ctx.setup.create_devices(accounts, owners);

    // Apps (optional) watch the robots, so each reconnect also costs a robot_connected fan-out.
    peer_counts app_counts, first_counts, storm_counts;
    std::vector<std::shared_ptr<ws_peer>> apps, first, again;
    auto app_handlers = counted_handlers(app_counts, {});
    for (std::size_t a = 0; a < o.apps; ++a)
        apps.push_back(make_peer(ctx, o.robots + a, peer_identity{false, accounts[a % o.users].access_token, {}, {}},
                                 app_handlers));
    auto first_handlers = counted_handlers(first_counts, {});
    auto storm_handlers = counted_handlers(storm_counts, {});
    for (std::size_t r = 0; r < o.robots; ++r) {
        peer_identity id{true, {}, devices[r].device_id, devices[r].secret};
        first.push_back(make_peer(ctx, r, id, first_handlers));
        again.push_back(make_peer(ctx, r, id, storm_handlers));
    }

    std::string why;
    auto finish = [&](int status) {
        close_all(ctx, again, storm_counts);
        close_all(ctx, apps, app_counts);
        ctx.pool.barrier();
        return status;
    };
    if (!connect_all(ctx, apps, app_counts, o.connect_concurrency, why) ||
        !connect_all(ctx, first, first_counts, o.connect_concurrency, why)) {
        out.note("first connection: " + why);
        close_all(ctx, first, first_counts);
        return finish(1);
    }
    close_all(ctx, first, first_counts);
    // Each look is an HTTP request on a fresh connection: look every 50 ms, not every 1 ms.
    if (!wait_until([&] { return robots_online(ctx) == 0; }, o.timeout_s, 50)) {
        out.note("the relay still counts robots online after they all closed");
        return finish(1);
    }
    sleep_seconds(0.5);

    // Every reconnect is handed to the io threads at once; nothing paces them.
    auto relay_cpu0 = read_cpu_seconds(ctx.relay.pid());
    auto database_cpu0 = read_tree_cpu_seconds(o.target.database_pid);
    auto t0 = now_ns();
    for (auto const& p : again)
        p->start();
    bool all_back = wait_until([&] { return storm_counts.ready.load() + storm_counts.failed.load() >= again.size(); },
                               o.timeout_s);
    auto seconds = double(now_ns() - t0) / 1e9;
    auto relay_cpu = read_cpu_seconds(ctx.relay.pid()) - relay_cpu0;
    auto database_cpu = read_tree_cpu_seconds(o.target.database_pid) - database_cpu0;
    ctx.pool.barrier();

    std::vector<std::int64_t> total, connect, upgrade, auth;
    std::int64_t last = 0;
    std::size_t over_1s = 0;
    for (auto const& p : again) {
        if (!p->was_ready())
            continue;
        total.push_back(p->ready_ns() - t0);
        connect.push_back(p->connected_ns() - p->started_ns());
        upgrade.push_back(p->upgraded_ns() - p->connected_ns());
        auth.push_back(p->ready_ns() - p->upgraded_ns());
        last = std::max(last, p->ready_ns());
        if (p->ready_ns() - t0 > 1'000'000'000)
            ++over_1s;
    }
    auto back = summarize(total);
    auto c = summarize(connect), u = summarize(upgrade), a = summarize(auth);
    bool complete = all_back && storm_counts.failed.load() == 0;
    double all_back_s = complete ? double(last - t0) / 1e9 : seconds;

    out.figure("robots_back", "robots authenticated again", back.count, "");
    bool target_shape = o.robots >= 5000;
    out.figure("all_back_s", "time until all are back", all_back_s, "s", target_shape ? "<= 2 s for 5000" : "",
               target_shape ? std::optional(complete && all_back_s <= 2.0) : std::nullopt);
    out.figure("per_robot_p50_ms", "per robot p50 (from the storm's start)", back.p50_us / 1000, "ms");
    out.figure("per_robot_p99_ms", "per robot p99", back.p99_us / 1000, "ms");
    out.figure("per_robot_max_ms", "per robot max", back.max_us / 1000, "ms");
    out.figure("connect_p99_ms", "  of which TCP connect, p99", c.p99_us / 1000, "ms");
    out.figure("upgrade_p99_ms", "  of which WebSocket upgrade, p99", u.p99_us / 1000, "ms");
    out.figure("auth_p99_ms", "  of which challenge + auth_ok, p99", a.p99_us / 1000, "ms");
    out.figure("over_1s", "robots back after more than 1 s", over_1s, "");
    out.figure("failed", "reconnects that failed", storm_counts.failed.load(), "");
    if (relay_cpu >= 0)
        out.figure("relay_cpu_s", "relayd CPU seconds during the storm", relay_cpu, "s");
    if (o.target.database_pid > 0 && database_cpu0 >= 0)
        out.figure("database_cpu_s", "database server CPU seconds during the storm", database_cpu, "s");
    if (storm_counts.failed.load() > 0)
        out.note("first failure: " + storm_counts.failure());
    if (!all_back)
        out.note(fmt::format("only {} of {} back within the timeout", storm_counts.ready.load(), again.size()));
    return finish(complete ? 0 : 1);
}

} // namespace relay::bench
