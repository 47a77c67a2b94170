#pragma once
// The runtime service: what the server runs with — options, logger, metrics, the store and the
// blocking pool its calls run on, the TURN provider, health, hooks and the shutdown state. Built
// once in server::start() as part of `services` (services.hpp) and passed down, never global.
#include "server/net.hpp"

#include <boost/asio/strand.hpp>
#include "server/http/tls.hpp"
#include "server/tunnel.hpp"
#include "server/turn_probe.hpp"

#include <relay/server/hooks.hpp>
#include <relay/server/options.hpp>
#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>
#include <relay/turn/provider.hpp>

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace relay::server {

/** Series the server updates on hot paths, looked up once. */
struct server_metrics {
    explicit server_metrics(telemetry::registry& r);

    telemetry::registry& registry;
    telemetry::counter& http_requests;
    telemetry::histogram& http_latency;
    telemetry::gauge& apps_connected;
    telemetry::gauge& robots_online;
    telemetry::gauge& webrtc_sessions;
    telemetry::counter& messages_routed;
    telemetry::counter& messages_in_app;
    telemetry::counter& messages_in_robot;
    telemetry::counter& errors_sent;
    telemetry::counter& rate_limited;
    telemetry::counter& slow_consumer_drops;
    telemetry::counter& replayed_events;
    telemetry::counter& duplicate_events;
    telemetry::counter& auth_failures_app;
    telemetry::counter& auth_failures_robot;
    telemetry::histogram& routing_latency;

    /** Received messages by wire type, indexed like the decoders' variants (looked up once). */
    std::vector<telemetry::counter*> app_in_by_type;
    std::vector<telemetry::counter*> robot_in_by_type;
    /** Messages queued to peers, by kind of peer. */
    telemetry::counter& app_out;
    telemetry::counter& robot_out;
    /** error messages sent, indexed by relay::errc value. */
    std::vector<telemetry::counter*> errors_by_code;
};

/** A dependency /health looks at; returns an empty string when healthy, else what is wrong. */
struct health_check {
    std::string name;
    std::function<std::string()> probe; // runs on the blocking pool
};

/**
 * The last run of the health checks, reused for a second: /health needs no login and the store's
 * check is a real write, so a flood of /health costs one run of the checks a second, not one per
 * request. Thread-safe.
 */
class health_cache {
public:
    /** What the checks found (name → what is wrong; empty when all is well), running them when
     * the last run is a second old or more. Blocking: call it on the blocking pool. */
    boost::json::object failures(std::vector<health_check> const& checks);

private:
    // Held while the checks run, so callers meanwhile wait for that run and share its result.
    std::mutex mutex_;
    std::optional<std::chrono::steady_clock::time_point> ran_at_;
    boost::json::object failures_;
};

/**
 * Threads of the blocking pool: server_options::blocking_threads, or when 0, 2 for SQLite (its
 * one connection serializes calls anyway) and database_pool + 1 for PostgreSQL (every
 * connection busy while a password is hashed).
 */
unsigned blocking_thread_count(server_options const& options) noexcept;

/**
 * The runtime service. Thread-safe: its members are immutable, thread-safe themselves, or atomic.
 */
struct runtime {
    /** Throws std::invalid_argument when a setting in `opts` is unusable (the tunnel allow list). */
    runtime(server_options opts, telemetry::logger& l, telemetry::registry& r, std::unique_ptr<store::store> s,
            std::shared_ptr<turn::provider> t, relay::server::hooks h);

    server_options const options;
    telemetry::logger& log;
    server_metrics metrics;
    std::chrono::steady_clock::time_point const started = std::chrono::steady_clock::now();

    /** Thread-safe; its calls block, so they run on `blocking` (see blocking.hpp). */
    std::unique_ptr<store::store> const store;

    /** ICE credentials for WebRTC (the TURN part). Its calls may block (the Cloudflare API), so
     * they run on `blocking`. */
    std::shared_ptr<turn::provider> const turn;

    /** The embedder's callbacks (hooks.hpp); call them through call_hook. */
    relay::server::hooks const hooks;

    /** TLS when RELAY_TLS_CERT/RELAY_TLS_KEY are set; null for plain HTTP. */
    std::shared_ptr<tls_config> tls;

    /** What the REST tunnel lets through (RELAY_TUNNEL_ALLOW or the default list). */
    tunnel_policy const tunnel_allow;

    /** Store queries and password hashing run here, never on the network threads; sized by
     * blocking_thread_count(options). */
    net::thread_pool blocking{blocking_thread_count(options)};
    /**
     * Store writes that must happen in order (a session's start before its end, last_seen
     * updates) go through this strand on the blocking pool.
     */
    net::strand<net::thread_pool::executor_type> store_writes{net::make_strand(blocking.get_executor())};

    std::vector<health_check> health_checks;
    health_cache health;
    /** What the last TURN self-probe found (turn_probe.hpp); part of the `turn` health check. */
    turn_probe_status turn_probe;

    /** Set once stop() begins: sessions finish their current request and do not linger. */
    std::atomic<bool> stopping{false};
    /** HTTP requests being handled right now (shutdown waits for them). */
    std::atomic<int> requests_in_flight{0};
};

/**
 * Calls `hook` with `args` when it is set. An exception from the embedder's code is logged as
 * `hook_failed` and goes no further: a hook only observes, it cannot break a connection.
 */
template <class Hook, class... Args>
void call_hook(telemetry::logger& log, std::string_view name, Hook const& hook, Args const&... args)
{
    if (!hook)
        return;
    try {
        hook(args...);
    } catch (std::exception const& e) {
        log.error("hook_failed", {{"hook", name}, {"what", e.what()}});
    } catch (...) {
        log.error("hook_failed", {{"hook", name}});
    }
}

} // namespace relay::server
