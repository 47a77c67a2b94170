#pragma once
/** @file The parts a relay server is built from. relayd builds each from its configuration
 * (RELAY_DATABASE picks the store, RELAY_TURN_PROVIDER the TURN provider, …); an embedder builds
 * the ones it wants to replace and leaves the rest empty for the defaults below. */
#include <relay/routing/broker.hpp>
#include <relay/routing/cluster.hpp>
#include <relay/server/hooks.hpp>
#include <relay/server/reset_notifier.hpp>
#include <relay/server/static_site.hpp>
#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>
#include <relay/turn/provider.hpp>

#include <memory>

namespace relay::server {

/**
 * Everything the server uses that a deployment may swap. Each part is handed to the server,
 * which keeps it until it is destroyed. An empty part gets its default when the server starts:
 *
 * | part           | default when empty                                                        |
 * |----------------|---------------------------------------------------------------------------|
 * | log            | a text logger at level info on stderr                                      |
 * | metrics        | a registry of its own (still served at GET /metrics)                      |
 * | store          | `store::open_store(options.database)`: SQLite file or `:memory:`          |
 * | broker         | `routing::in_process_broker` with the options' replay limits (one process) |
 * | cluster        | none: one process (relay/cluster/redis.hpp builds a broker and a cluster)  |
 * | turn           | `turn::none_provider` with `options.stun_urls` (STUN only)                 |
 * | reset_notifier | `log_reset_notifier` (the token is logged in dev mode only)               |
 * | hooks          | none                                                                      |
 * | console        | none: nothing at /console/ (relayd passes its embedded web console)        |
 *
 * The server wraps the store so every call is timed (relay_store_duration_seconds) and calls
 * the broker's `sweep` once a second. The store must be thread-safe and may block (its calls run
 * on the server's blocking pool); the broker's calls come from the network threads and must not
 * block; the TURN provider's calls run on the blocking pool.
 */
struct parts {
    std::shared_ptr<telemetry::logger> log;
    std::shared_ptr<telemetry::registry> metrics;
    std::unique_ptr<relay::store::store> store;
    std::shared_ptr<relay::routing::broker> broker;
    /** Several nodes: set together with a broker that all nodes share (make_redis_parts). */
    std::shared_ptr<relay::routing::cluster> cluster;
    std::shared_ptr<relay::turn::provider> turn;
    std::shared_ptr<relay::server::reset_notifier> reset_notifier;
    relay::server::hooks hooks;
    /** The web console's files, served at /console/ (and / redirects there). */
    std::shared_ptr<relay::server::static_site const> console;
};

} // namespace relay::server
