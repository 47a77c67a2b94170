#pragma once
// What every session and route handler shares: options, logger, metrics, store, auth and the
// routing hub. Built once in server::start() and passed down by reference (never global).
#include "server/net.hpp"

#include <boost/asio/strand.hpp>
#include "server/http/tls.hpp"
#include "server/tunnel.hpp"

#include <relay/auth/ended_logins.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/auth/password.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/auth/throttle.hpp>
#include <relay/routing/hub.hpp>
#include <relay/routing/broker.hpp>
#include <relay/routing/webrtc_registry.hpp>
#include <relay/server/hooks.hpp>
#include <relay/server/options.hpp>
#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>
#include <relay/turn/provider.hpp>

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <unordered_map>

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

class ws_connection;

/** Every live WebSocket connection, so shutdown can tell each one to reconnect elsewhere. */
class connection_registry {
public:
    void add(std::shared_ptr<ws_connection> const& c);
    void remove(ws_connection const* c);
    /** The live connections of one kind ("app" or "robot"). */
    std::vector<std::shared_ptr<ws_connection>> of_kind(std::string_view kind) const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_; // guards live_
    std::unordered_map<ws_connection const*, std::weak_ptr<ws_connection>> live_;
};

struct shared_state {
    /** Throws std::invalid_argument when a secret or key in `opts` is unusable. */
    shared_state(server_options opts, telemetry::logger& l, telemetry::registry& r,
                 std::unique_ptr<store::store> s, std::shared_ptr<routing::broker> b, relay::server::hooks h);

    server_options const options;
    telemetry::logger& log;
    server_metrics metrics;
    std::chrono::steady_clock::time_point const started = std::chrono::steady_clock::now();

    /** Thread-safe; its calls block, so they run on `blocking` (see blocking.hpp). */
    std::unique_ptr<store::store> const store;
    auth::jwt_codec const jwt;
    /** Logins ended before their access tokens expire (logout, password reset, refresh reuse):
     * verify_access_claims refuses their tokens until those could not verify anyway. */
    auth::ended_logins ended_logins;
    auth::password_hasher const passwords;
    /** Seals device secrets at rest under RELAY_SECRET_KEY. */
    auth::secret_box const device_secrets;
    /** Failed logins per account ("email:…"); five lock the account for a while. */
    auth::failure_throttle login_failures;
    /**
     * Failed logins per client address ("addr:…"), with a higher limit: many people share an
     * address behind a NAT, and one of them mistyping must not lock out the rest.
     */
    auth::failure_throttle address_failures{auth::throttle_policy{.max_failures = 30}};
    /** Failed device authentications, keyed "device:…" and "addr:…": they slow the next
     * failures down but never refuse a correct signature. */
    auth::failure_delay device_failures;

    /** The broker part (parts.hpp): in-process unless the embedder or relayd gave another. */
    std::shared_ptr<routing::broker> const broker;
    routing::hub hub{*broker};

    /** The embedder's callbacks (hooks.hpp); call them through call_hook. */
    relay::server::hooks const hooks;

    /** TLS when RELAY_TLS_CERT/RELAY_TLS_KEY are set; null for plain HTTP. */
    std::shared_ptr<tls_config> tls;

    /** WebRTC signaling sessions in progress. */
    routing::webrtc_registry webrtc;

    /** What the REST tunnel lets through (RELAY_TUNNEL_ALLOW or the default list). */
    tunnel_policy const tunnel_allow;

    /** ICE credentials for WebRTC (RELAY_TURN_PROVIDER); set by server::start(). Its calls may
     * block (the Cloudflare API), so they run on `blocking`. */
    std::shared_ptr<turn::provider> turn;

    /** Store queries and password hashing run here, never on the network threads. */
    net::thread_pool blocking{2};
    /**
     * Store writes that must happen in order (a session's start before its end, last_seen
     * updates) go through this strand on the blocking pool.
     */
    net::strand<net::thread_pool::executor_type> store_writes{net::make_strand(blocking.get_executor())};


    std::vector<health_check> health_checks;
    health_cache health;

    connection_registry connections;

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
