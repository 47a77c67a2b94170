// relay-bench: drives a relayd with app and robot connections that speak the wire contract and
// prints what it measured (see docs/benchmarks.md and `relay-bench --help`).
#include "options.hpp"
#include "scenario.hpp"

#include <fmt/format.h>

#include <csignal>
#include <exception>
#include <thread>

#include <unistd.h>

namespace {

std::string hostname()
{
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

} // namespace

int main(int argc, char** argv)
{
    using namespace relay::bench;
    int exit_code = 0;
    auto opts = parse_options(argc, argv, exit_code);
    if (!opts)
        return exit_code;
    // A peer the relay already closed must cost an error code, not the process.
    std::signal(SIGPIPE, SIG_IGN);
    // Before spawning, so the relay inherits the raised limit too.
    auto fd_limit = raise_open_file_limit();
    std::size_t connections_needed = opts->scenario == "fanout"    ? std::size_t(opts->robots) * (opts->apps + 1)
                                     : opts->scenario == "recover" ? 2
                                     : opts->scenario == "soak"    ? std::size_t(opts->households) * 2
                                                                   : std::size_t(opts->robots) + opts->apps;
    if (connections_needed + 64 > fd_limit) {
        fmt::print(stderr, "relay-bench: {} connections need more open files than this process may have ({})\n",
                   connections_needed, fd_limit);
        return 2;
    }

    try {
        auto nodes = relay_target::open_nodes(opts->target);
        auto& relay = nodes.front();
        io_pool pool(opts->threads);
        report out(opts->scenario);
        out.config("host", boost::json::string(hostname()));
        out.config("cores", std::thread::hardware_concurrency());
        out.config("client_threads", opts->threads);
        out.config("relay_spawned", relay->spawned());
        if (relay->spawned()) {
            boost::json::object settings;
            for (auto const& [k, v] : relay->settings())
                settings[k] = boost::json::string(setting_for_report(k, v));
            out.config("relay_settings", settings);
        }
        bench_context ctx{*opts,
                          *relay,
                          pool,
                          http_setup{relay->host(), relay->port(), opts->setup_workers, random_tag()},
                          std::make_shared<peer_endpoint const>(peer_endpoint{
                              tcp::endpoint(net::ip::make_address(relay->host()), relay->port()),
                              relay->host() + ":" + std::to_string(relay->port())}),
                          out,
                          {},
                          {}};
        for (auto const& n : nodes) {
            ctx.nodes.push_back(n.get());
            ctx.node_endpoints.push_back(std::make_shared<peer_endpoint const>(
                peer_endpoint{tcp::endpoint(net::ip::make_address(n->host()), n->port()),
                              n->host() + ":" + std::to_string(n->port())}));
        }
        if (nodes.size() > 1)
            config_nodes(ctx);
        int status = opts->scenario == "api"      ? run_api(ctx)
                     : opts->scenario == "fanout" ? run_fanout(ctx)
                     : opts->scenario == "rtt"  ? run_rtt(ctx)
                     : opts->scenario == "idle" ? run_idle(ctx)
                     : opts->scenario == "storm" ? run_storm(ctx)
                     : opts->scenario == "recover" ? run_recover(ctx)
                     : opts->scenario == "soak" ? run_soak(ctx)
                                                 : run_tunnel(ctx);
        out.print(opts->json_only);
        pool.stop();
        return status;
    } catch (std::exception const& e) {
        fmt::print(stderr, "relay-bench: {}\n", e.what());
        return 1;
    }
}
