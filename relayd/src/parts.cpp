#include "parts.hpp"
#include "console.hpp"

#include <relay/cluster/redis.hpp>
#include <relay/routing/in_process_broker.hpp>
#include <relay/turn/cloudflare.hpp>
#include <relay/turn/coturn.hpp>
#include <relay/turn/none.hpp>

#include <stdexcept>

namespace relayd {

namespace server = relay::server;
namespace telemetry = relay::telemetry;
namespace turn = relay::turn;

namespace {

/** Port 53 URLs are configured but never handed out (the providers drop them): say so once. */
void warn_port_53(telemetry::logger& log, std::vector<std::string> const& urls, std::string_view variable)
{
    for (auto const& url : urls)
        if (turn::is_port_53_url(url))
            log.warn("ice_url_dropped", {{"variable", variable}, {"url", url},
                                         {"reason", "port 53: clients time out on it, so it is never handed out"}});
}

} // namespace

std::shared_ptr<turn::provider> make_turn_provider(turn_settings const& settings, server::server_options const& options,
                                                   telemetry::logger& log, telemetry::registry& metrics)
{
    warn_port_53(log, options.stun_urls, "RELAY_STUN_URLS");
    if (settings.provider == "coturn") {
        warn_port_53(log, settings.urls, "RELAY_TURN_URLS");
        auto provider = std::make_shared<turn::coturn_provider>(
            turn::coturn_options{settings.secrets, settings.urls, options.stun_urls, {}});
        // Fingerprints, never the secrets: enough to tell whether coturn has the same one.
        std::string fingerprints;
        for (auto const& secret : settings.secrets)
            fingerprints += (fingerprints.empty() ? "" : ",") + turn::secret_fingerprint(secret);
        log.info("turn_provider", {{"provider", "coturn"}, {"secret_sha256_prefixes", fingerprints},
                                   {"signing", turn::secret_fingerprint(settings.secrets.front())}});
        return provider;
    }
    if (settings.provider == "cloudflare") {
        turn::cloudflare_options cf;
        cf.key_id = settings.cf_key_id;
        cf.api_token = settings.cf_api_token;
        cf.api_base = settings.cf_api_base;
        cf.stun_urls = options.stun_urls;
        cf.log = &log;
        cf.metrics = &metrics;
        auto provider = std::make_shared<turn::cloudflare_provider>(std::move(cf));
        log.info("turn_provider", {{"provider", "cloudflare"}, {"api_base", settings.cf_api_base}});
        return provider;
    }
    if (settings.provider == "none") {
        log.info("turn_provider", {{"provider", "none"}, {"stun_urls", options.stun_urls.size()}});
        return std::make_shared<turn::none_provider>(options.stun_urls);
    }
    throw std::invalid_argument("RELAY_TURN_PROVIDER must be coturn, cloudflare or none, not '" + settings.provider +
                                "'");
}

std::optional<server::parts> make_parts(config const& cfg, std::shared_ptr<telemetry::logger> log,
                                        std::shared_ptr<telemetry::registry> metrics, std::string& why)
{
    auto const& options = cfg.server;
    server::parts p;

    // The store: open_store picks the backend by the scheme of RELAY_DATABASE.
    relay::store::store_options store_opts;
    store_opts.log = log.get();
    store_opts.pool_size = options.database_pool;
    store_opts.statement_timeout = cfg.database_statement_timeout;
    auto opened = relay::store::open_store(options.database, store_opts);
    if (!opened) {
        why = opened.error().message;
        return std::nullopt;
    }
    p.store = std::move(*opened);

    if (!cfg.cluster.redis_url.empty()) {
        // Several nodes: channels, history and robot ownership live in Redis.
        relay::cluster::redis_settings rs;
        rs.where = cfg.cluster.redis;
        rs.node_id = cfg.cluster.node_id;
        rs.history_max_events = options.replay_max_events;
        rs.history_max_age = options.replay_max_age;
        rs.heartbeat = cfg.cluster.heartbeat;
        rs.node_timeout = cfg.cluster.node_timeout;
        log->info("cluster", {{"redis", relay::cluster::redact_redis_url(cfg.cluster.redis_url)},
                              {"node_id", cfg.cluster.node_id}});
        auto made = relay::cluster::make_redis_parts(std::move(rs), log, metrics);
        p.broker = std::move(made.broker);
        p.cluster = std::move(made.cluster);
    } else {
        // The broker: one process keeps channels and history in memory.
        p.broker = std::make_shared<relay::routing::in_process_broker>(
            relay::routing::replay_limits{options.replay_max_events, options.replay_max_age, options.replay_max_bytes,
                                          options.replay_max_total_bytes},
            metrics.get());
    }

    try {
        p.turn = make_turn_provider(cfg.turn, options, *log, *metrics);
    } catch (std::exception const& e) {
        why = e.what();
        return std::nullopt;
    }

    // No mail is sent: in dev mode the token is logged, otherwise an operator hands one out
    // with `relayd user reset-token EMAIL`.
    p.reset_notifier = std::make_shared<server::log_reset_notifier>(*log, options.dev, options.public_url);

    if (cfg.console) {
        if (cfg.console_dir.empty()) {
            p.console = embedded_console();
        } else {
            // Read once at start: an edited file shows after a restart, with no build.
            auto site = server::static_site::from_directory(cfg.console_dir, why);
            if (!site) {
                why = "RELAY_CONSOLE_DIR: " + why;
                return std::nullopt;
            }
            p.console = std::move(site);
        }
        log->info("console", {{"path", "/console/"}, {"files", p.console->size()},
                              {"from", cfg.console_dir.empty() ? std::string("embedded") : cfg.console_dir}});
    }
    p.log = std::move(log);
    p.metrics = std::move(metrics);
    return p;
}

} // namespace relayd
