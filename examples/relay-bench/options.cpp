#include "options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string_view>
#include <vector>

namespace relay::bench {
namespace {

constexpr std::string_view usage = R"(relay-bench — load generator for relayd (see docs/benchmarks.md)

usage:
  relay-bench api|fanout|rtt|idle|storm|tunnel|recover|soak (--spawn PATH_TO_RELAYD | --relay http://127.0.0.1:PORT) [options]

scenarios:
  api      --concurrency clients (default 16), each a user of its own on one keep-alive
           connection, send the HTTP API's operations back to back in a fixed mix (percent of
           requests): register 5, login 10, refresh 15, device list 35, device read 15,
           device add 10, device delete 10. Reports requests/s overall and per operation,
           latency percentiles per operation, errors and relayd's CPU. The store is what it
           measures: on a spawned relay password hashing is cheap (RELAY_SCRYPT_LN=10).
  fanout   D robots each emit events to A apps. Phase "max": robots send as fast as the relay
           delivers, at most --window events per robot not yet delivered to all its apps;
           reports delivered events/s at the apps. Phase "latency": a fixed offered rate
           (--rate delivered events/s, default half the max); reports delivery latency
           percentiles from a send stamp in the event to its receipt.
  rtt      app -> robot -> app command round trips (the robot answers command_result at once),
           --concurrency commands in flight; reports round-trip and ack latency percentiles,
           then the machine's floor: a loopback TCP echo between two threads, no relay.
  idle     --robots + --apps authenticated connections held open; reports relayd's VmRSS
           before and after, and KB per connection (needs --spawn or --relayd-pid).
  storm    --robots robots authenticate, all disconnect, then all reconnect at once; reports
           the time until every one has auth_ok again and per-robot percentiles.
  recover  (several nodes on Redis) an app on the first node sends commands, one at a time, to a
           robot on the second, which also sends an event every 10 ms; the bench kills
           redis-server (--redis-pid, SIGKILL) and something else restarts it (scripts/
           bench-cluster.sh does); reports the time from Redis answering again (PING at --redis)
           until the first command sent after it gets its result, and the first such event
           arrives.
  tunnel   the REST tunnel against the robot's API called directly. A local HTTP server plays
           the robot's API (GET /status, a small JSON document); a robot-sdk robot forwards
           each http_request to it with robot-agent's forwarder. --concurrency keep-alive
           clients send GET back to back (a) to the local server; (b) the forwarder is called
           alone on min(--concurrency, --robot-workers) threads; (c) the clients go through
           relayd's GET /api/devices/{id}/rest/status; (d) --concurrency http_request
           messages in flight on one /ws/app connection. Reports requests/s, latency
           percentiles and errors of each, and what the relay adds.
  soak     (scripts/soak.sh) --households H, each a user with one robot and one phone, for
           --minutes M: every robot sends an acknowledged event each --event-period S, every
           phone a command each --command-period S, and --replace-percent P of all
           connections per minute are closed and come back (phones resume, robots re-send
           what was not acknowledged). Samples relayd's VmRSS, descriptors and CPU every
           --sample-interval S (into --csv PATH) and fails when RSS grows more than 10 %
           after minute 5, descriptors leak, an acknowledged event does not reach its phone
           exactly once in seq order, or a command gets no result.

the relay:
  --spawn PATH           start PATH (relayd) on a free 127.0.0.1 port with fast password hashing
                         and raised rate and queue limits, stop it at exit
  --database LOCATION    RELAY_DATABASE of the spawned relay: a SQLite path, :memory:, a
                         postgresql:// URL, or temp-file (a fresh SQLite file in a temporary
                         directory, removed at exit). Default: the bench's own RELAY_DATABASE
                         if set, else temp-file for api and :memory: for the other scenarios
  --relay URL[,URL…]     use a running relay (http://127.x.x.x:PORT only); its rate limits apply.
                         Several URLs: the nodes of one cluster (RELAY_REDIS_URL, one database);
                         accounts are made on the first, and each scenario spreads its peers:
                         idle puts a household's robot and two phones on three different nodes,
                         fanout the robots on the first node and the apps over the others, rtt
                         and recover the app on the first node and the robot on the second
  --relayd-pid PID[,…]   the running relays' pids (one per URL), for RSS and CPU figures
  --redis-pid PID        the nodes' redis-server, for its RSS and CPU figures
  --redis HOST:PORT      where that redis-server listens (recover)
  --database-pid PID     a database server's main process (PostgreSQL's postmaster): api and
                         storm report the CPU it and its children used
  --relay-threads N      RELAY_THREADS of a spawned relay (default 2)
  --relay-log-level L    RELAY_LOG_LEVEL of a spawned relay (default warn)
  --relay-env K=V        any other setting of a spawned relay (repeatable)

common:
  --threads N            client io_context threads (default 1); connections share them
  --source-addresses N   bind client sockets to 127.0.0.2 .. 127.0.0.(N+1) (default 8), so
                         more than one address's ephemeral ports are available
  --setup-workers N      parallel HTTP connections creating users and devices (default 4)
  --duration S           measured seconds of a phase (default 5)
  --warmup S             unmeasured seconds before it (default 1)
  --timeout S            longest wait for any step (default 60)
  --json                 print only the JSON line

fanout:  --robots D (1)  --apps A per robot (100)  --app-users K (1: all apps are the owner's;
         K>1: spread over the owner and K-1 viewers)  --window W (64)  --rate R (0 = max/2)
         --phases max|latency|both (both)  --payload BYTES (0)
api:     --concurrency C (16)  --duration S  --warmup S
rtt:     --count N (20000)  --concurrency C (1)
tunnel:  --concurrency C (8; above 16 the spawned relay's RELAY_TUNNEL_MAX_PER_USER and
         _PER_DEVICE are raised to C)  --payload BYTES (0: padding in the /status answer,
         at most 60000)  --robot-workers N (4)  --duration S  --warmup S (per phase)
idle:    --robots R (5000)  --apps A (10000)  --users U (R, one household each)  --hold S (5)
         --connect-concurrency C (500)  --ready-file PATH (created once all are authenticated)
soak:    --households H (1000)  --minutes M (30)  --event-period S (1)  --command-period S (10)
         --replace-percent P (1)  --sample-interval S (60)  --reconnect-delay S (1)
         --csv PATH  --inject-loss (tests the accounting: one event is ignored, the run fails)
         A spawned relay keeps events for resume 180 s (RELAY_REPLAY_MAX_AGE, default 600), so
         its history is full before the RSS rule's warm-up ends.
storm:   --robots N (5000)  --apps A (0)  --users U (50)  --connect-concurrency C (500, for
         the first connection only; the reconnect is all at once)
)";

/** "a,b,c" → {"a","b","c"}; empty parts are dropped. */
std::vector<std::string> split_commas(std::string_view text)
{
    std::vector<std::string> out;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto part = text.substr(0, comma);
        if (!part.empty())
            out.emplace_back(part);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    }
    return out;
}

template <class T>
bool parse_number(std::string_view text, T& out)
{
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && p == text.data() + text.size();
}

} // namespace

std::optional<bench_options> parse_options(int argc, char** argv, int& exit_code)
{
    bench_options o;
    exit_code = 2;
    std::optional<unsigned> robots, apps, users, concurrency;
    std::optional<std::string> database;

    using setter = std::function<bool(std::string_view)>;
    auto uint_opt = [](unsigned& v) { return setter([&v](std::string_view s) { return parse_number(s, v); }); };
    auto double_opt = [](double& v) {
        return setter([&v](std::string_view s) { return parse_number(s, v) && v >= 0; });
    };
    auto opt_uint = [](std::optional<unsigned>& v) {
        return setter([&v](std::string_view s) {
            unsigned n = 0;
            if (!parse_number(s, n)) return false;
            v = n;
            return true;
        });
    };
    std::map<std::string_view, setter> takes_value{
        {"--spawn", [&](std::string_view s) { o.target.spawn_path = s; return true; }},
        {"--relay", [&](std::string_view s) {
             o.target.relay_urls = split_commas(s);
             return !o.target.relay_urls.empty();
         }},
        {"--relayd-pid", [&](std::string_view s) {
             o.target.relayd_pids.clear();
             for (auto const& part : split_commas(s)) {
                 int pid = 0;
                 if (!parse_number(part, pid) || pid <= 0) return false;
                 o.target.relayd_pids.push_back(pid);
             }
             return !o.target.relayd_pids.empty();
         }},
        {"--redis-pid", [&](std::string_view s) { return parse_number(s, o.target.redis_pid) && o.target.redis_pid > 0; }},
        {"--redis", [&](std::string_view s) { o.target.redis_address = s; return !s.empty(); }},
        {"--ready-file", [&](std::string_view s) { o.ready_file = s; return !s.empty(); }},
        {"--database-pid", [&](std::string_view s) { return parse_number(s, o.target.database_pid); }},
        {"--relay-threads", uint_opt(o.target.relay_threads)},
        {"--database", [&](std::string_view s) { database = s; return !s.empty(); }},
        {"--relay-log-level", [&](std::string_view s) { o.target.relay_log_level = s; return true; }},
        {"--relay-env", [&](std::string_view s) {
             if (s.find('=') == std::string_view::npos) return false;
             o.target.relay_env.emplace_back(s);
             return true;
         }},
        {"--threads", uint_opt(o.threads)},
        {"--source-addresses", uint_opt(o.source_addresses)},
        {"--setup-workers", uint_opt(o.setup_workers)},
        {"--duration", double_opt(o.duration_s)},
        {"--warmup", double_opt(o.warmup_s)},
        {"--timeout", double_opt(o.timeout_s)},
        {"--robots", opt_uint(robots)},
        {"--apps", opt_uint(apps)},
        {"--users", opt_uint(users)},
        {"--app-users", uint_opt(o.app_users)},
        {"--window", uint_opt(o.window)},
        {"--rate", double_opt(o.rate)},
        {"--phases", [&](std::string_view s) {
             o.phases = s;
             return s == "max" || s == "latency" || s == "both";
         }},
        {"--payload", [&](std::string_view s) { return parse_number(s, o.payload) && o.payload <= 60000; }},
        {"--count", uint_opt(o.count)},
        {"--concurrency", opt_uint(concurrency)},
        {"--robot-workers", uint_opt(o.robot_workers)},
        {"--hold", double_opt(o.hold_s)},
        {"--connect-concurrency", uint_opt(o.connect_concurrency)},
        {"--households", uint_opt(o.households)},
        {"--minutes", double_opt(o.minutes)},
        {"--event-period", double_opt(o.event_period_s)},
        {"--command-period", double_opt(o.command_period_s)},
        {"--replace-percent", double_opt(o.replace_percent)},
        {"--sample-interval", double_opt(o.sample_s)},
        {"--reconnect-delay", double_opt(o.reconnect_delay_s)},
        {"--csv", [&](std::string_view s) { o.csv_path = s; return !s.empty(); }},
    };

    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h" || arg == "help") {
            fmt::print("{}", usage);
            exit_code = 0;
            return std::nullopt;
        }
        if (arg == "--json") {
            o.json_only = true;
            continue;
        }
        if (arg == "--inject-loss") {
            o.inject_loss = true;
            continue;
        }
        if (!arg.starts_with("--")) {
            if (!o.scenario.empty()) {
                fmt::print(stderr, "relay-bench: unexpected argument '{}' (see --help)\n", arg);
                return std::nullopt;
            }
            o.scenario = arg;
            continue;
        }
        std::string_view name = arg, value;
        bool inline_value = false;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inline_value = true;
        }
        auto it = takes_value.find(name);
        if (it == takes_value.end()) {
            fmt::print(stderr, "relay-bench: unknown option '{}' (see --help)\n", name);
            return std::nullopt;
        }
        if (!inline_value) {
            if (i + 1 >= argc) {
                fmt::print(stderr, "relay-bench: {} needs a value\n", name);
                return std::nullopt;
            }
            value = argv[++i];
        }
        if (!it->second(value)) {
            fmt::print(stderr, "relay-bench: bad value '{}' for {}\n", value, name);
            return std::nullopt;
        }
    }

    if (o.scenario != "api" && o.scenario != "fanout" && o.scenario != "rtt" && o.scenario != "idle" && o.scenario != "storm" &&
        o.scenario != "tunnel" && o.scenario != "recover" && o.scenario != "soak") {
        fmt::print(stderr, "relay-bench: name a scenario: api, fanout, rtt, idle, storm, tunnel, recover or soak (see --help)\n");
        return std::nullopt;
    }
    if (o.target.spawn_path.empty() == o.target.relay_urls.empty()) {
        fmt::print(stderr, "relay-bench: give exactly one of --spawn PATH or --relay URL\n");
        return std::nullopt;
    }
    if (!o.target.relayd_pids.empty() && o.target.relayd_pids.size() != std::max<std::size_t>(1, o.target.relay_urls.size())) {
        fmt::print(stderr, "relay-bench: --relayd-pid needs one pid per --relay URL, in the same order\n");
        return std::nullopt;
    }
    if (o.scenario == "recover" && (o.target.relay_urls.size() < 2 || o.target.redis_pid <= 0 || o.target.redis_address.empty())) {
        fmt::print(stderr, "relay-bench: recover needs two nodes (--relay URL1,URL2), --redis-pid and --redis\n");
        return std::nullopt;
    }
    o.concurrency = concurrency.value_or(o.scenario == "tunnel" ? 8 : o.scenario == "api" ? 16 : 1);
    // The api scenario measures the store, so by default the store a deployment has: a file.
    auto const* env_database = std::getenv("RELAY_DATABASE");
    o.target.database = database                     ? *database
                        : env_database && *env_database ? env_database
                        : o.scenario == "api" || o.scenario == "soak" ? "temp-file"
                                                         : ":memory:";
    if (o.target.database == "temp-file")
        o.target.database.clear();
    if (o.threads == 0 || o.threads > 64 || o.source_addresses == 0 || o.source_addresses > 250 ||
        o.setup_workers == 0 || o.setup_workers > 64 || o.app_users == 0 || o.window == 0 ||
        o.window > 16384 || o.concurrency == 0 || o.concurrency > 1000 || o.connect_concurrency == 0 ||
        o.robot_workers == 0 || o.robot_workers > 64) {
        fmt::print(stderr, "relay-bench: a count is out of range (see --help)\n");
        return std::nullopt;
    }

    // Scenario defaults: the shapes named by the targets in docs/benchmarks.md.
    if (o.scenario == "fanout") {
        o.robots = robots.value_or(1);
        o.apps = apps.value_or(100);
    } else if (o.scenario == "idle") {
        o.robots = robots.value_or(5000);
        o.apps = apps.value_or(10000);
        o.users = users.value_or(o.robots > 0 ? o.robots : 1000);
    } else if (o.scenario == "storm") {
        o.robots = robots.value_or(5000);
        o.apps = apps.value_or(0);
        o.users = users.value_or(50);
    } else if (o.scenario == "soak") {
        // The resume history fills for RELAY_REPLAY_MAX_AGE (600 s by default) before it stops
        // growing; 180 s lets it fill before the RSS rule's 5-minute warm-up ends, so growth
        // after it means a leak, not history. First in the list: --relay-env still wins.
        o.target.relay_env.insert(o.target.relay_env.begin(), "RELAY_REPLAY_MAX_AGE=180");
    } else if (o.scenario == "tunnel" && o.concurrency > 16) {
        // The relay's in-flight limits (16 per user, 32 per device) would answer 429 to the
        // rest; first in the list, so an explicit --relay-env still wins.
        auto limit = std::to_string(o.concurrency);
        o.target.relay_env.insert(o.target.relay_env.begin(), {"RELAY_TUNNEL_MAX_PER_USER=" + limit,
                                                               "RELAY_TUNNEL_MAX_PER_DEVICE=" + limit});
    }
    // Bounded, whatever is asked: the bench must stop by itself and fit one process's descriptors.
    constexpr unsigned max_connections = 100000;
    if (o.scenario == "fanout" && (o.robots == 0 || o.apps == 0 ||
                                   std::size_t(o.robots) * (o.apps + 1) > max_connections || o.app_users > o.apps)) {
        fmt::print(stderr, "relay-bench: fanout needs 1 <= --app-users <= --apps and at most {} connections\n",
                   max_connections);
        return std::nullopt;
    }
    if ((o.scenario == "idle" || o.scenario == "storm") &&
        (o.robots + o.apps == 0 || o.robots + o.apps > max_connections || o.users == 0)) {
        fmt::print(stderr, "relay-bench: {} needs 1 to {} connections and at least one user\n", o.scenario,
                   max_connections);
        return std::nullopt;
    }
    if (o.scenario == "storm" && o.robots == 0) {
        fmt::print(stderr, "relay-bench: storm needs robots\n");
        return std::nullopt;
    }
    if (o.scenario == "soak" &&
        (o.households == 0 || o.households > max_connections / 2 || o.minutes <= 0 || o.minutes > 24 * 60 ||
         o.event_period_s < 0.01 || o.command_period_s < 0.1 || o.replace_percent > 100 || o.sample_s < 1 ||
         o.reconnect_delay_s > 60)) {
        fmt::print(stderr, "relay-bench: soak needs 1 to {} households, 0 < --minutes <= 1440, --event-period >= 0.01, "
                           "--command-period >= 0.1, --replace-percent <= 100, --sample-interval >= 1, "
                           "--reconnect-delay <= 60\n",
                   max_connections / 2);
        return std::nullopt;
    }
    if (o.count == 0 || o.count > 10000000 || o.duration_s > 3600 || o.hold_s > 3600 || o.timeout_s > 3600) {
        fmt::print(stderr, "relay-bench: a count or time is out of range (see --help)\n");
        return std::nullopt;
    }
    exit_code = 0;
    return o;
}

} // namespace relay::bench
