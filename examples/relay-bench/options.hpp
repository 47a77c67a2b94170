#pragma once
/** @file What relay-bench was asked to do: the scenario, where the relay is, and the knobs of
 * each scenario. Defaults that depend on the scenario are applied by parse_options(). */
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace relay::bench {

/** The relay under test: an existing one (`--relay`) or one relay-bench starts (`--spawn`). */
struct target_options {
    /** --relay http://127.0.0.1:PORT, or several nodes of one cluster separated by commas
     * (http://127.0.0.1:8001,http://127.0.0.1:8002,…): scenarios spread their peers over them. */
    std::vector<std::string> relay_urls;
    std::string spawn_path;                ///< --spawn PATH_TO_RELAYD
    /** --relayd-pid PID[,PID…], for RSS and CPU of existing relays: one per --relay URL, in order. */
    std::vector<int> relayd_pids;
    int redis_pid = 0;                     ///< --redis-pid: the nodes' redis-server, for its RSS and CPU
    std::string redis_address;             ///< --redis 127.0.0.1:PORT: where the recover scenario sees it return
    int database_pid = 0;                  ///< --database-pid: a database server (PostgreSQL's postmaster), for its CPU
    unsigned relay_threads = 2;            ///< RELAY_THREADS of a spawned relay
    std::string relay_log_level = "warn";  ///< RELAY_LOG_LEVEL of a spawned relay
    std::vector<std::string> relay_env;    ///< --relay-env KEY=VALUE, overrides for a spawned relay
    /** RELAY_DATABASE of a spawned relay (--database, else the bench's own RELAY_DATABASE, else
     * the scenario's default); empty means a fresh SQLite file in a temporary directory. */
    std::string database;
};

/** Every option of every scenario; each scenario reads the ones it needs. */
struct bench_options {
    std::string scenario; ///< api | fanout | rtt | idle | storm | tunnel | recover | soak
    target_options target;

    unsigned threads = 1;          ///< client io_context threads
    unsigned source_addresses = 8; ///< client sockets bind to 127.0.0.2 … 127.0.0.(1+N)
    unsigned setup_workers = 4;    ///< parallel HTTP connections creating users and devices
    double duration_s = 5;         ///< measured part of a phase
    double warmup_s = 1;           ///< unmeasured lead-in of a phase
    double timeout_s = 60;         ///< longest wait for any one step
    bool json_only = false;        ///< print the JSON line only

    // fanout
    unsigned robots = 0;       ///< fanout: robots; idle, storm: robot connections
    unsigned apps = 0;         ///< fanout: apps per robot; idle, storm: app connections in total
    unsigned app_users = 1;    ///< fanout: users the apps of one robot belong to (owner + viewers)
    unsigned window = 64;      ///< fanout: events of one robot not yet delivered to all its apps
    double rate = 0;           ///< fanout: delivered events/s of the latency phase; 0 = half the max
    std::string phases = "both"; ///< fanout: max | latency | both
    std::size_t payload = 0;   ///< fanout: padding in each event's data; tunnel: in the local API's answer

    // rtt
    unsigned count = 20000;    ///< round trips measured
    unsigned concurrency = 1;  ///< rtt: commands in flight; tunnel, api: requests in flight (clients)

    // tunnel
    unsigned robot_workers = 4; ///< threads the robot forwards requests on (robot-agent's --workers)

    // idle, storm
    unsigned users = 0;                 ///< accounts owning the robots and apps
    double hold_s = 5;                  ///< idle: how long connections are held before the last reading
    unsigned connect_concurrency = 500; ///< handshakes in flight while building up connections
    /** idle: created once every connection is authenticated, so that a script running several
     * relay-bench processes at once (one process has too few descriptors for 60,000) knows
     * when to take its own readings. Empty: none. */
    std::string ready_file;

    // soak
    unsigned households = 1000;    ///< one user, one robot, one phone each
    double minutes = 30;           ///< length of the load
    double event_period_s = 1;     ///< each robot sends an event this often
    double command_period_s = 10;  ///< each phone sends a command this often
    double replace_percent = 1;    ///< of all connections, closed and reconnected per minute
    double sample_s = 60;          ///< relayd's RSS, descriptors and CPU are read this often
    double reconnect_delay_s = 1;  ///< a replaced connection comes back after this long
    std::string csv_path;          ///< where the samples go (empty: none)
    /** Test of the loss accounting only: one phone ignores one event, so the run must fail. */
    bool inject_loss = false;
};

/** Parses argv; on error or --help returns nullopt after printing what to do. `exit_code` is
 * set to 0 for --help and 2 for a usage error. */
std::optional<bench_options> parse_options(int argc, char** argv, int& exit_code);

} // namespace relay::bench
