#pragma once
// relayd's configuration: the contract's RELAY_* environment variables, a --config file of the
// same KEY=VALUE lines, and command-line flags. Flags win, then the file, then the environment.
#include <relay/cluster/redis.hpp>
#include <relay/server/options.hpp>
#include <relay/telemetry/log.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace relayd {

/** Which TURN provider relayd builds for the server (RELAY_TURN_PROVIDER and its settings). */
struct turn_settings {
    std::string provider = "none";    ///< coturn | cloudflare | none
    std::vector<std::string> secrets; ///< RELAY_TURN_SECRET (comma-separated: first signs, all verify)
    std::vector<std::string> urls;    ///< RELAY_TURN_URLS
    std::string cf_key_id;            ///< RELAY_CF_TURN_KEY_ID
    std::string cf_api_token;         ///< RELAY_CF_TURN_API_TOKEN
    std::string cf_api_base = "https://rtc.live.cloudflare.com/v1"; ///< RELAY_CF_API_BASE
};

/** Several nodes on one Redis (RELAY_REDIS_URL and the node's settings); unset: one process. */
struct cluster_settings {
    std::string redis_url; ///< RELAY_REDIS_URL as given (logs show redact_redis_url of it)
    relay::cluster::redis_location redis;
    std::string node_id; ///< RELAY_NODE_ID; default "<hostname>:<port>"
    std::chrono::milliseconds heartbeat{1000};   ///< RELAY_NODE_HEARTBEAT_MS
    std::chrono::milliseconds node_timeout{5000}; ///< RELAY_NODE_TIMEOUT_MS
};

struct config {
    relay::server::server_options server;
    turn_settings turn;
    cluster_settings cluster;
    /** RELAY_DATABASE_STATEMENT_TIMEOUT: PostgreSQL's statement_timeout for every connection. */
    std::chrono::seconds database_statement_timeout{5};
    /** RELAY_CONSOLE: serve the web console at /console/ (and redirect / there). */
    bool console = true;
    /** RELAY_CONSOLE_DIR: serve the console from this folder instead of relayd's own copy. */
    std::string console_dir;
    relay::telemetry::log_level log_level = relay::telemetry::log_level::info;
    relay::telemetry::log_format log_format = relay::telemetry::log_format::text;
    /** Warnings to log once the logger exists (generated secrets and the like). */
    std::vector<std::string> warnings;
};

/** Outcome of reading the configuration: either a config or a one-line reason to refuse. */
struct config_result {
    config cfg;
    std::string error;
    std::vector<std::string> rest; ///< arguments that are not settings (subcommand words)
    bool help = false;
};

/**
 * Reads the environment (`envp`), then `--config FILE`, then flags from `args`, and validates
 * every value. Secrets left unset are filled in by prepare_secret_key and prepare_jwt_secret.
 */
config_result load_config(std::vector<std::string> const& args, char** envp);

/** The settings table as help text. */
std::string settings_help();

} // namespace relayd

namespace relayd {
/**
 * Refuses a missing database file that has its generated key (or dev JWT secret) beside it: the
 * database was lost, and starting would create an empty one. Error text or empty.
 */
std::string refuse_lost_database(config const& c);
/** Loads or creates the device-secret key (RELAY_SECRET_KEY or DATABASE.key); error text or empty. */
std::string prepare_secret_key(config& c);
/**
 * The JWT secret when RELAY_JWT_SECRET is unset: in dev mode on a database file, loaded from or
 * created in DATABASE.jwt (mode 0600) so tokens survive a restart; otherwise random, with a
 * warning. Error text or empty.
 */
std::string prepare_jwt_secret(config& c);
} // namespace relayd
