#pragma once
/** @file What every scenario is given, the helpers they share (building and connecting peers,
 * waiting with a deadline, reading ids out of messages), and the six scenarios. */
#include "http_setup.hpp"
#include "io_pool.hpp"
#include "options.hpp"
#include "relay_target.hpp"
#include "report.hpp"
#include "ws_peer.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace relay::bench {

/** Everything a scenario runs against. */
struct bench_context {
    bench_options const& opts;
    relay_target& relay;
    io_pool& pool;
    http_setup setup;
    std::shared_ptr<peer_endpoint const> endpoint;
    report& out;
    /** Every node of a cluster run (--relay URL1,URL2,…), `relay` and `endpoint` first; just
     * those two otherwise. Accounts and devices are made on the first (the nodes share one
     * database). */
    std::vector<relay_target*> nodes;
    std::vector<std::shared_ptr<peer_endpoint const>> node_endpoints;
};

/** Counters a group of peers updates from the io threads; the coordinating thread reads them. */
struct peer_counts {
    std::atomic<std::size_t> ready{0};
    std::atomic<std::size_t> failed{0}; ///< ended before auth_ok
    std::atomic<std::size_t> closed{0}; ///< ended after auth_ok
    std::mutex mutex;
    std::string first_failure; ///< under mutex

    void record_end(ws_peer const& p, std::string const& why);
    std::string failure();
};

/** Handlers that keep `counts` up to date around the scenario's own callbacks (either may be empty). */
std::shared_ptr<peer_handlers const> counted_handlers(peer_counts& counts,
                                                      std::function<void(ws_peer&, std::string_view)> on_message,
                                                      std::function<void(ws_peer&)> on_ready = {});

/** The loopback source address of connection `i`: 127.0.0.2 … 127.0.0.(1+n), round robin. */
net::ip::address_v4 source_address(std::size_t i, unsigned n);

/** A new (not yet started) peer; connection `i` goes to io context i % pool size, and to node
 * `node` % the number of nodes. */
std::shared_ptr<ws_peer> make_peer(bench_context& ctx, std::size_t i, peer_identity identity,
                                   std::shared_ptr<peer_handlers const> handlers, std::size_t node = 0);

/** One user's app and the robot of their one device, made (not started) for the scenarios with
 * a single pair: the app on the first node, the robot on node `robot_node`. */
struct app_robot_pair {
    std::string device_id;
    std::shared_ptr<ws_peer> app;
    std::shared_ptr<ws_peer> robot;
};
app_robot_pair make_app_robot_pair(bench_context& ctx, peer_counts& app_counts,
                                   std::function<void(ws_peer&, std::string_view)> on_app_message,
                                   peer_counts& robot_counts, std::size_t robot_node);

/** A robot's answer to every command: command_result ok at once. */
void answer_command(ws_peer& robot, std::string_view text);

/** Reports the nodes' and Redis's pids (cluster runs); figures per node use these indexes. */
void config_nodes(bench_context& ctx);

/** User plus system CPU seconds of every node together; -1 when a pid is unknown. */
double nodes_cpu_seconds(bench_context& ctx);

/** Starts `peers`, keeping at most `concurrency` handshakes in flight, and waits until every
 * one is authenticated. False (with `why`) when one failed or the timeout passed. */
bool connect_all(bench_context& ctx, std::vector<std::shared_ptr<ws_peer>> const& peers, peer_counts& counts,
                 unsigned concurrency, std::string& why);

/** Closes every peer politely and waits (up to the timeout) until all have ended; `counts`
 * must be the counts of exactly these peers. */
void close_all(bench_context& ctx, std::vector<std::shared_ptr<ws_peer>> const& peers, peer_counts& counts);

/**
 * Ends a run of robots and apps: a connection of either group that dropped before the end fails
 * the run (noted with the first failure), then both groups are closed and handlers still queued
 * are let run, since they may refer to the scenario. Returns 1 when one dropped, else `status`.
 */
int end_run(bench_context& ctx, std::vector<std::shared_ptr<ws_peer>> const& robots, peer_counts& robot_counts,
            std::vector<std::shared_ptr<ws_peer>> const& apps, peer_counts& app_counts, int status);

/** Reports the robots, apps and users options, the population of the idle and storm runs. */
void config_population(bench_context& ctx);

/** Polls `done` every `poll_ms` until it holds or `seconds` pass; returns whether it held. */
bool wait_until(std::function<bool()> const& done, double seconds, int poll_ms = 1);

/** Sleeps the coordinating thread. */
void sleep_seconds(double seconds);

/** Reads relayd's `robots_online` from GET /stats; -1 when it cannot. */
long robots_online(bench_context& ctx);

/** The string value right after `key` (e.g. `"id":"`), up to the closing quote; the bench's
 * own ids never hold escapes. Empty when `key` is missing. */
std::string_view string_after(std::string_view text, std::string_view key);

/** The unsigned number right after `key` (e.g. `"seq":`), or -1 when `key` is missing or no
 * number follows. */
std::int64_t number_after(std::string_view text, std::string_view key);

/** The number n of a bench id "<prefix><n>" (e.g. "c12"), or -1. */
std::int64_t id_number(std::string_view id, char prefix);

int run_api(bench_context& ctx);
int run_fanout(bench_context& ctx);
int run_rtt(bench_context& ctx);
int run_idle(bench_context& ctx);
int run_storm(bench_context& ctx);
int run_tunnel(bench_context& ctx);
int run_recover(bench_context& ctx);
int run_soak(bench_context& ctx);

} // namespace relay::bench
