// idle: many authenticated connections held open, and what they cost the relay in resident
// memory: VmRSS before any connection, after the robots, after the apps, and after a hold.
#include "scenario.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <fstream>

namespace relay::bench {
namespace {

/** Seconds to let the relay settle before each memory reading (deferred store writes, queued
 * handlers), so readings compare like with like. */
constexpr double settle_s = 1.0;

double kb_per(long before, long after, std::size_t n)
{
    return n == 0 || before < 0 || after < 0 ? 0.0 : double(after - before) / double(n);
}

/** Several nodes: each node's VmRSS before and after, the connections it holds (its /stats),
 * and Redis's VmRSS. Only this process's connections are known here; when several relay-bench
 * processes load the same nodes at once, the script that runs them takes the readings. */
void report_nodes(bench_context& ctx, std::vector<long> const& before, std::size_t connections)
{
    boost::json::array per_node;
    for (std::size_t i = 0; i < ctx.nodes.size(); ++i) {
        auto* node = ctx.nodes[i];
        http_setup setup{node->host(), node->port(), 1, ctx.setup.run_tag};
        boost::system::error_code ec;
        auto stats = boost::json::parse(setup.stats(), ec);
        long held = -1;
        if (!ec && stats.is_object()) {
            auto const& o = stats.as_object();
            auto number = [&](char const* key) {
                auto const* v = o.if_contains(key);
                return v && v->is_number() ? static_cast<long>(v->to_number<double>()) : 0L;
            };
            held = number("robots_online") + number("apps_connected");
        }
        auto after = read_rss_kb(node->pid());
        per_node.push_back(boost::json::object{
            {"port", node->port()},
            {"rss_before_kb", before[i]},
            {"rss_held_kb", after},
            {"stats_connections", held},
            {"kb_per_connection", held > 0 && before[i] >= 0 && after >= 0 ? double(after - before[i]) / double(held) : 0.0}});
    }
    ctx.out.figure("nodes", "per node: VmRSS and connections (from /stats)", std::move(per_node), "");
    ctx.out.figure("connections_all_nodes", "connections of this process over all nodes", connections, "");
    if (ctx.opts.target.redis_pid > 0)
        ctx.out.figure("redis_rss_kb", "redis-server VmRSS", read_rss_kb(ctx.opts.target.redis_pid), "KB");
}

} // namespace

int run_idle(bench_context& ctx)
{
    auto const& o = ctx.opts;
    auto& out = ctx.out;
    config_population(ctx);
    out.config("hold_s", o.hold_s);
    if (ctx.relay.pid() <= 0) {
        out.note("idle needs the relay's pid: use --spawn, or --relayd-pid with --relay");
        return 2;
    }

    auto accounts = ctx.setup.create_accounts(o.users);
    std::vector<std::size_t> owners;
    for (std::size_t r = 0; r < o.robots; ++r)
        owners.push_back(r % o.users);
    auto devices = ctx.setup.create_devices(accounts, owners);

    peer_counts robot_counts, app_counts;
    auto robot_handlers = counted_handlers(robot_counts, {});
    auto app_handlers = counted_handlers(app_counts, {});
    std::vector<std::shared_ptr<ws_peer>> robots, apps;
    // On several nodes, a household (a user's robot r and apps r, r + users, …) is spread: its
    // robot on node r, its apps on the nodes after it, so presence and events cross nodes.
    for (std::size_t r = 0; r < o.robots; ++r)
        robots.push_back(make_peer(ctx, r, peer_identity{true, {}, devices[r].device_id, devices[r].secret}, robot_handlers,
                                   r));
    for (std::size_t a = 0; a < o.apps; ++a)
        apps.push_back(make_peer(ctx, o.robots + a, peer_identity{false, accounts[a % o.users].access_token, {}, {}},
                                 app_handlers, a % o.users + 1 + a / o.users));

    sleep_seconds(settle_s);
    auto rss0 = read_rss_kb(ctx.relay.pid());
    std::vector<long> nodes_before;
    for (auto const* node : ctx.nodes)
        nodes_before.push_back(read_rss_kb(node->pid()));
    std::size_t const n_connections = o.robots + o.apps;
    std::string why;
    int status = 0;
    auto rss1 = rss0, rss2 = rss0, rss3 = rss0;
    if (!connect_all(ctx, robots, robot_counts, o.connect_concurrency, why)) {
        out.note("robots: " + why);
        status = 1;
    } else {
        sleep_seconds(settle_s);
        rss1 = read_rss_kb(ctx.relay.pid());
        if (!connect_all(ctx, apps, app_counts, o.connect_concurrency, why)) {
            out.note("apps: " + why);
            status = 1;
        } else {
            sleep_seconds(settle_s);
            rss2 = read_rss_kb(ctx.relay.pid());
            if (!o.ready_file.empty())
                std::ofstream(o.ready_file) << n_connections << "\n";
            sleep_seconds(o.hold_s);
            rss3 = read_rss_kb(ctx.relay.pid());
            if (ctx.nodes.size() > 1)
                report_nodes(ctx, nodes_before, n_connections);
        }
    }

    std::size_t const n = o.robots + o.apps;
    auto dropped = robot_counts.closed.load() + app_counts.closed.load();
    if (status == 0) {
        double per_connection = kb_per(rss0, rss3, n);
        out.figure("connections", "authenticated connections held", n, "");
        out.figure("rss_before_kb", "relayd VmRSS before connecting", rss0, "KB");
        out.figure("rss_robots_kb", "... after the robots", rss1, "KB");
        out.figure("rss_apps_kb", "... after the apps", rss2, "KB");
        out.figure("rss_held_kb", fmt::format("... after holding {:.0f} s", o.hold_s), rss3, "KB");
        if (o.robots > 0)
            out.figure("kb_per_robot", "KB per robot connection", kb_per(rss0, rss1, o.robots), "KB");
        if (o.apps > 0)
            out.figure("kb_per_app", "KB per app connection", kb_per(rss1, rss2, o.apps), "KB");
        bool target_shape = n >= 15000;
        out.figure("kb_per_connection", "KB per connection (all, after hold)", per_connection, "KB",
                   target_shape ? "<= 8 KB at 15000" : "",
                   target_shape ? std::optional(per_connection <= 8) : std::nullopt);
        out.figure("bench_rss_kb", "relay-bench's own VmRSS", read_rss_kb(::getpid()), "KB");
    }
    out.figure("dropped_connections", "connections dropped while held", dropped, "");
    return end_run(ctx, robots, robot_counts, apps, app_counts, status);
}

} // namespace relay::bench
