#include "config.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/server/reset_notifier.hpp>
#include <relay/store/store.hpp>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sys/stat.h>
#include <unistd.h>
#include <type_traits>
#include <vector>

namespace relayd {
namespace {

using relay::server::server_options;

std::string trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

std::vector<std::string> split_list(std::string_view s)
{
    std::vector<std::string> out;
    while (!s.empty()) {
        auto comma = s.find(',');
        auto item = trim(s.substr(0, comma));
        if (!item.empty()) out.push_back(item);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

// Each parser returns an error text, empty on success.
using apply_fn = std::function<std::string(std::string const&, config&)>;

template <class T>
std::string parse_number(std::string const& v, T& out, T min, T max)
{
    // Parsed wide first, so an out-of-range value is reported as such rather than as garbage.
    using wide = std::conditional_t<std::is_floating_point_v<T>, double, long long>;
    wide value{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec == std::errc::result_out_of_range)
        return fmt::format("must be between {} and {}", min, max);
    if (ec != std::errc() || p != v.data() + v.size())
        return "is not a number";
    if (value < static_cast<wide>(min) || value > static_cast<wide>(max))
        return fmt::format("must be between {} and {}", min, max);
    out = static_cast<T>(value);
    return {};
}

std::string parse_bool(std::string const& v, bool& out)
{
    if (v == "1" || v == "true" || v == "yes" || v == "on") { out = true; return {}; }
    if (v == "0" || v == "false" || v == "no" || v == "off") { out = false; return {}; }
    return "must be true or false";
}

// A whole number of the duration's own unit (seconds, microseconds), within [min, max].
template <class Duration>
std::string parse_duration(std::string const& v, Duration& out, long long min, long long max)
{
    long long n = 0;
    auto e = parse_number(v, n, min, max);
    if (e.empty()) out = Duration(n);
    return e;
}

// "50/100" = 50 per second with a burst of 100.
std::string parse_rate(std::string const& v, relay::server::rate_limit& out)
{
    auto slash = v.find('/');
    if (slash == std::string::npos) return "must be RATE/BURST, e.g. 50/100";
    double rate = 0, burst = 0;
    auto a = std::from_chars(v.data(), v.data() + slash, rate);
    auto b = std::from_chars(v.data() + slash + 1, v.data() + v.size(), burst);
    if (a.ec != std::errc() || b.ec != std::errc() || a.ptr != v.data() + slash || b.ptr != v.data() + v.size() ||
        rate <= 0 || burst < 1)
        return "must be RATE/BURST with positive numbers, e.g. 50/100";
    out = {rate, burst};
    return {};
}

// Node ids travel in Redis keys and node messages ("<kind> <from>\n"): no spaces, no newlines.
bool valid_node_id(std::string_view id)
{
    if (id.empty() || id.size() > 64)
        return false;
    for (unsigned char ch : id)
        if (!std::isalnum(ch) && ch != '.' && ch != '_' && ch != ':' && ch != '-')
            return false;
    return true;
}

struct setting {
    std::string_view env;
    std::string_view flag;
    std::string_view help;
    apply_fn apply;
};

std::vector<setting> const& settings()
{
    static std::vector<setting> const table = {
        {"RELAY_HOST", "host", "listen address (default 0.0.0.0)",
         [](auto const& v, config& c) { c.server.host = v; return std::string(); }},
        {"RELAY_PORT", "port", "listen port (default 8000; 0 picks a free one)",
         [](auto const& v, config& c) { return parse_number<std::uint16_t>(v, c.server.port, 0, 65535); }},
        {"RELAY_METRICS_HOST", "metrics-host", "address of the private /metrics listener (default 127.0.0.1)",
         [](auto const& v, config& c) {
             boost::system::error_code ec;
             boost::asio::ip::make_address(v, ec);
             if (ec) return std::string("is not an IP address");
             c.server.metrics_host = v;
             return std::string();
         }},
        {"RELAY_METRICS_PORT", "metrics-port", "private listener serving only /metrics, plain HTTP; then not on RELAY_PORT (default: none)",
         [](auto const& v, config& c) {
             std::uint16_t port = 0;
             auto e = parse_number<std::uint16_t>(v, port, 0, 65535);
             if (e.empty()) c.server.metrics_port = port;
             return e;
         }},
        {"RELAY_DATABASE", "database", "SQLite file, :memory:, or a PostgreSQL URL postgresql://user:password@host:port/dbname?sslmode=verify-full (default relay.db; logs show it without the password)",
         [](auto const& v, config& c) {
             if (v.empty()) return std::string("must not be empty");
             c.server.database = v;
             return std::string();
         }},
        // 4 on 2 cores: one connection per core keeps both busy while two more wait on the
        // network; more only queue inside PostgreSQL.
        {"RELAY_DATABASE_POOL", "database-pool", "PostgreSQL connections (1-64, default 4; the blocking pool gets one thread more)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.database_pool, 1, 64); }},
        {"RELAY_DATABASE_STATEMENT_TIMEOUT", "database-statement-timeout", "seconds a PostgreSQL statement may run before it is cancelled and the request answered 503 (default 5)",
         [](auto const& v, config& c) { return parse_duration(v, c.database_statement_timeout, 1, 600); }},
        {"RELAY_JWT_SECRET", "jwt-secret", "HS256 key for access tokens, at least 32 bytes (default: random, with a warning; in dev mode on a SQLite file generated once into DATABASE.jwt)",
         [](auto const& v, config& c) {
             if (v.size() < 32) return std::string("must be at least 32 bytes long");
             c.server.jwt_secret = v;
             return std::string();
         }},
        {"RELAY_SECRET_KEY", "secret-key", "key sealing device secrets at rest: 64 hex chars (default: generated into DATABASE.key)",
         [](auto const& v, config& c) {
             auto raw = relay::auth::hex_decode(v);
             if (!raw || raw->size() != 32) return std::string("must be 64 hex characters (32 bytes)");
             c.server.secret_key = *raw;
             return std::string();
         }},
        {"RELAY_DEV", "dev", "developer conveniences; never in production (default false)",
         [](auto const& v, config& c) { return parse_bool(v, c.server.dev); }},
        {"RELAY_ACCESS_TTL", "access-ttl",
         "access token lifetime, seconds (default 900); an app socket whose token expires unrenewed closes (4401)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.access_ttl, 30, 86400); }},
        {"RELAY_REFRESH_TTL", "refresh-ttl", "refresh token lifetime, seconds (default 2592000)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.refresh_ttl, 300, 31536000); }},
        {"RELAY_OPEN_REGISTRATION", "open-registration", "whether POST /api/auth/register is open (default true)",
         [](auto const& v, config& c) { return parse_bool(v, c.server.open_registration); }},
        {"RELAY_TURN_PROVIDER", "turn-provider", "coturn, cloudflare or none (default none)",
         [](auto const& v, config& c) {
             if (v != "coturn" && v != "cloudflare" && v != "none")
                 return std::string("must be coturn, cloudflare or none");
             c.turn.provider = v;
             return std::string();
         }},
        {"RELAY_TURN_SECRET", "turn-secret", "coturn static-auth-secret; several comma-separated for rotation (first signs)",
         [](auto const& v, config& c) { c.turn.secrets = split_list(v); return std::string(); }},
        {"RELAY_TURN_URLS", "turn-urls", "comma-separated turn:/turns: URLs for coturn (UDP first)",
         [](auto const& v, config& c) {
             c.turn.urls = split_list(v);
             for (auto const& u : c.turn.urls)
                 if (!u.starts_with("turn:") && !u.starts_with("turns:"))
                     return fmt::format("'{}' is not a turn: or turns: URL", u);
             return std::string();
         }},
        {"RELAY_TURN_TTL", "turn-ttl", "TURN credential lifetime, seconds (default 86400)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.turn_ttl, 60, 172800); }},
        {"RELAY_TURN_PROBE_INTERVAL", "turn-probe-interval",
         "seconds between TURN self-probes (a real Allocate on each TURN URL); 0 = off (default 300)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.turn_probe_interval, 0, 86400); }},
        {"RELAY_STUN_URLS", "stun-urls", "comma-separated stun: URLs added to every ICE server list",
         [](auto const& v, config& c) {
             c.server.stun_urls = split_list(v);
             for (auto const& u : c.server.stun_urls)
                 if (!u.starts_with("stun:") && !u.starts_with("stuns:"))
                     return fmt::format("'{}' is not a stun: URL", u);
             return std::string();
         }},
        {"RELAY_CF_TURN_KEY_ID", "cf-turn-key-id", "Cloudflare TURN key id",
         [](auto const& v, config& c) { c.turn.cf_key_id = v; return std::string(); }},
        {"RELAY_CF_TURN_API_TOKEN", "cf-turn-api-token", "Cloudflare TURN key API token",
         [](auto const& v, config& c) { c.turn.cf_api_token = v; return std::string(); }},
        {"RELAY_CF_API_BASE", "cf-api-base", "Cloudflare API base URL (default https://rtc.live.cloudflare.com/v1)",
         [](auto const& v, config& c) {
             if (!v.starts_with("https://") && !v.starts_with("http://"))
                 return std::string("must be an http(s):// URL");
             c.turn.cf_api_base = v;
             return std::string();
         }},
        {"RELAY_CORS_ORIGINS", "cors-origins", "comma-separated origins allowed for browsers",
         [](auto const& v, config& c) { c.server.cors_origins = split_list(v); return std::string(); }},
        {"RELAY_PUBLIC_URL", "public-url",
         "the relay's base URL as browsers reach it (https://relay.example.com); password-reset links start with it "
         "(default: none, links relative to the relay)",
         [](auto const& v, config& c) {
             if (v.empty()) {
                 c.server.public_url.clear();
                 return std::string();
             }
             std::string why;
             auto url = relay::server::normalize_public_url(v, why);
             if (!url)
                 return why;
             c.server.public_url = std::move(*url);
             return std::string();
         }},
        {"RELAY_TRUSTED_PROXIES", "trusted-proxies", "comma-separated proxy addresses whose X-Forwarded-For is believed",
         [](auto const& v, config& c) {
             c.server.trusted_proxies = split_list(v);
             for (auto const& a : c.server.trusted_proxies) {
                 boost::system::error_code ec;
                 boost::asio::ip::make_address(a, ec);
                 if (ec)
                     return fmt::format("'{}' is not an IP address", a);
             }
             return std::string();
         }},
        {"RELAY_TLS_CERT", "tls-cert", "PEM certificate chain; with RELAY_TLS_KEY serves https/wss",
         [](auto const& v, config& c) { c.server.tls_cert = v; return std::string(); }},
        {"RELAY_TLS_KEY", "tls-key", "PEM private key",
         [](auto const& v, config& c) { c.server.tls_key = v; return std::string(); }},
        {"RELAY_LOG_FORMAT", "log-format", "text or json (default text)",
         [](auto const& v, config& c) {
             auto f = relay::telemetry::parse_log_format(v);
             if (!f) return std::string("must be text or json");
             c.log_format = *f;
             return std::string();
         }},
        {"RELAY_LOG_LEVEL", "log-level", "debug, info, warn or error (default info)",
         [](auto const& v, config& c) {
             auto l = relay::telemetry::parse_log_level(v);
             if (!l) return std::string("must be debug, info, warn or error");
             c.log_level = *l;
             return std::string();
         }},
        {"RELAY_SCRYPT_LN", "scrypt-ln", "log2 of scrypt's cost for new password hashes (default 15 = 32 MiB)",
         [](auto const& v, config& c) { return parse_number<unsigned>(v, c.server.scrypt_log_n, 10, 20); }},
        {"RELAY_THREADS", "threads", "network threads (default: one per core)",
         [](auto const& v, config& c) { return parse_number<unsigned>(v, c.server.threads, 0, 256); }},
        {"RELAY_BUSY_POLL_US", "busy-poll-us", "microseconds an idle network thread polls before sleeping (default 0: trades CPU for latency)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.busy_poll, 0, 10000); }},
        {"RELAY_READ_MESSAGE_MAX", "read-message-max", "largest WebSocket message, bytes (default 65536)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.read_message_max, 1024, 16 << 20); }},
        {"RELAY_TUNNEL_BODY_MAX", "tunnel-body-max", "largest REST-tunnel body, bytes (default 1048576)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.tunnel_body_max, 1024, 64 << 20); }},
        {"RELAY_TUNNEL_ALLOW", "tunnel-allow", "REST-tunnel allow list: comma-separated 'METHOD /path' patterns (default: the robot API)",
         [](auto const& v, config& c) { c.server.tunnel_allow = split_list(v); return std::string(); }},
        {"RELAY_TUNNEL_TIMEOUT", "tunnel-timeout", "seconds a robot has to answer a tunnelled request (default 15)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.tunnel_timeout, 1, 600); }},
        {"RELAY_TUNNEL_MAX_PER_DEVICE", "tunnel-max-per-device", "tunnelled requests in flight per robot (default 32)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.tunnel_max_per_device, 1, 10000); }},
        {"RELAY_TUNNEL_MAX_PER_USER", "tunnel-max-per-user", "tunnelled requests in flight per user (default 16)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.tunnel_max_per_user, 1, 10000); }},
        {"RELAY_APP_RATE", "app-rate", "app messages per second/burst (default 50/100)",
         [](auto const& v, config& c) { return parse_rate(v, c.server.app_rate); }},
        {"RELAY_ROBOT_RATE", "robot-rate", "robot messages per second/burst (default 200/400)",
         [](auto const& v, config& c) { return parse_rate(v, c.server.robot_rate); }},
        {"RELAY_WEBRTC_REQUESTS_PER_MIN", "webrtc-requests-per-min", "webrtc_request per app connection per minute (default 10)",
         [](auto const& v, config& c) { return parse_number<double>(v, c.server.webrtc_requests_per_minute, 1, 10000); }},
        {"RELAY_WEBRTC_MAX_PER_DEVICE", "webrtc-max-per-device", "concurrent WebRTC sessions per robot (default 4)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.webrtc_max_per_device, 1, 1000); }},
        {"RELAY_WEBRTC_OFFER_TIMEOUT", "webrtc-offer-timeout", "seconds a robot has to send its offer (default 30)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.webrtc_offer_timeout, 1, 600); }},
        {"RELAY_WEBRTC_ANSWER_TIMEOUT", "webrtc-answer-timeout", "seconds an app has to answer an offer (default 30)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.webrtc_answer_timeout, 1, 600); }},
        {"RELAY_WEBRTC_REPLACE_GRACE", "webrtc-replace-grace", "seconds a renewed WebRTC session lives on after its replacement connected (default 15)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.webrtc_replace_grace, 1, 600); }},
        {"RELAY_SEND_QUEUE_MAX_MESSAGES", "send-queue-max-messages", "slow consumer: messages queued before dropping the connection (default 4096)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.send_queue_max_messages, 16, 1 << 24); }},
        {"RELAY_SEND_QUEUE_MAX_BYTES", "send-queue-max-bytes", "slow consumer: bytes queued before dropping the connection (default 8388608)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.send_queue_max_bytes, 65536, std::size_t(1) << 34); }},
        {"RELAY_REPLAY_MAX_EVENTS", "replay-max-events", "events kept per device for resume (default 1000)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.replay_max_events, 0, 1000000); }},
        {"RELAY_REPLAY_MAX_AGE", "replay-max-age", "seconds events are kept for resume (default 600)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.replay_max_age, 0, 86400 * 7); }},
        {"RELAY_REPLAY_MAX_BYTES", "replay-max-bytes", "bytes of events kept per device for resume (default 4194304)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.replay_max_bytes, 1024, std::size_t(1) << 34); }},
        {"RELAY_REPLAY_MAX_TOTAL_BYTES", "replay-max-total-bytes", "bytes of events kept for resume, all devices together (default 268435456)",
         [](auto const& v, config& c) { return parse_number<std::size_t>(v, c.server.replay_max_total_bytes, 1024, std::size_t(1) << 40); }},
        {"RELAY_REDIS_URL", "redis-url", "several nodes on one Redis: redis://[:password@]host:port[/db] (default: none, one process; logs show it without the password)",
         [](auto const& v, config& c) {
             std::string why;
             auto where = relay::cluster::parse_redis_url(v, &why);
             if (!where) return why.empty() ? std::string("is not a redis:// URL") : why;
             c.cluster.redis_url = v;
             c.cluster.redis = std::move(*where);
             return std::string();
         }},
        {"RELAY_NODE_ID", "node-id", "this node's name among the nodes, unique and stable: letters, digits, '.', '_', ':', '-', at most 64 (default <hostname>:<port>)",
         [](auto const& v, config& c) {
             if (!valid_node_id(v)) return std::string("must be 1 to 64 letters, digits, '.', '_', ':' or '-'");
             c.cluster.node_id = v;
             return std::string();
         }},
        {"RELAY_NODE_HEARTBEAT_MS", "node-heartbeat-ms", "milliseconds between a node's heartbeats to Redis (default 1000)",
         [](auto const& v, config& c) { return parse_duration(v, c.cluster.heartbeat, 50, 60000); }},
        {"RELAY_NODE_TIMEOUT_MS", "node-timeout-ms", "milliseconds without a heartbeat after which a node is dead and its robots offline (default 5000; at least twice the heartbeat)",
         [](auto const& v, config& c) { return parse_duration(v, c.cluster.node_timeout, 200, 600000); }},
        {"RELAY_AUTH_TIMEOUT", "auth-timeout", "seconds a WebSocket peer has to authenticate (default 10)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.auth_timeout, 1, 300); }},
        {"RELAY_PING_INTERVAL", "ping-interval", "seconds between WebSocket pings (default 30)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.ping_interval, 1, 3600); }},
        {"RELAY_IDLE_TIMEOUT", "idle-timeout", "seconds of silence after which a peer is dropped (default 75)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.idle_timeout, 2, 7200); }},
        {"RELAY_SHUTDOWN_GRACE", "shutdown-grace", "seconds to let in-flight work finish on SIGTERM (default 10)",
         [](auto const& v, config& c) { return parse_duration(v, c.server.shutdown_grace, 0, 3600); }},
        {"RELAY_CONSOLE", "console", "serve the web console at /console/ and redirect / there (default true)",
         [](auto const& v, config& c) { return parse_bool(v, c.console); }},
        {"RELAY_CONSOLE_DIR", "console-dir",
         "serve the console from this folder (read at start) instead of the copy built into relayd (default: built in)",
         [](auto const& v, config& c) {
             c.console_dir = v;
             return std::string();
         }},
        {"RELAY_AUDIT_RETENTION", "audit-retention", "days the audit trail keeps an entry; 0 keeps them forever (default 90)",
         [](auto const& v, config& c) {
             long long days = 0;
             auto e = parse_number(v, days, 0LL, 36500LL);
             if (e.empty()) c.server.audit_retention = std::chrono::hours(24 * days);
             return e;
         }},
    };
    return table;
}

setting const* find_by_flag(std::string_view flag)
{
    for (auto const& s : settings())
        if (s.flag == flag) return &s;
    return nullptr;
}

setting const* find_by_env(std::string_view env)
{
    for (auto const& s : settings())
        if (s.env == env) return &s;
    return nullptr;
}

// KEY=VALUE lines (the same names as the environment), '#' comments, optional quotes.
std::string read_config_file(std::string const& path, std::map<std::string, std::string>& values)
{
    std::ifstream in(path);
    if (!in)
        return fmt::format("cannot read config file {}: {}", path, std::strerror(errno));
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        auto text = trim(line);
        if (text.empty() || text.front() == '#') continue;
        auto eq = text.find('=');
        if (eq == std::string::npos)
            return fmt::format("{}:{}: expected KEY=VALUE", path, number);
        auto key = trim(std::string_view(text).substr(0, eq));
        auto value = trim(std::string_view(text).substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        if (!find_by_env(key))
            return fmt::format("{}:{}: unknown setting {}", path, number, key);
        values[key] = value;
    }
    return {};
}

bool is_database_file(std::string const& database)
{
    return database != ":memory:" && !relay::store::is_postgresql_location(database);
}

/** A 32-byte key kept in a file beside the database: its raw bytes, or why there is none. */
struct key_file {
    std::string key;
    std::string error;
};

// Reads the key in DATABASE + `suffix` (one line of 64 hex characters), or creates that file
// with a fresh random key, readable by its owner only (mode 0600), and warns that `variable` is
// not set, followed by `advice`. `what` names the key in messages.
key_file key_beside_database(config& c, std::string_view suffix, std::string_view variable, std::string_view what,
                             std::string_view advice)
{
    key_file out;
    auto path = c.server.database + std::string(suffix);
    std::ifstream in(path);
    if (in) {
        std::string hex;
        std::getline(in, hex);
        auto raw = relay::auth::hex_decode(trim(hex));
        if (!raw || raw->size() != 32)
            out.error = fmt::format("{} does not hold a 64-hex-character key", path);
        else
            out.key = *raw;
        return out;
    }
    auto key = relay::auth::random_bytes(32);
    auto old_mask = ::umask(077);
    std::ofstream file(path);
    ::umask(old_mask);
    if (!file) {
        out.error = fmt::format("cannot create {} for the {}: {}", path, what, std::strerror(errno));
        return out;
    }
    file << relay::auth::hex_encode(key) << '\n';
    file.close();
    out.key = key;
    c.warnings.push_back(fmt::format("{} is not set: generated a {} in {}; {}", variable, what, path, advice));
    return out;
}

// Device secrets are sealed with this key; without one configured, it lives in a file beside the
// database (mode 0600), so a copy of the database alone does not reveal any robot's secret.
std::string resolve_secret_key(config& c)
{
    if (!c.server.secret_key.empty())
        return {};
    if (!is_database_file(c.server.database)) {
        if (c.server.database != ":memory:")
            return "RELAY_SECRET_KEY is required with a PostgreSQL database";
        c.server.secret_key = relay::auth::random_bytes(32);
        return {};
    }
    auto file = key_beside_database(c, ".key", "RELAY_SECRET_KEY", "device-secret key",
                                    "back it up with the database, robots must be re-provisioned if it is lost");
    c.server.secret_key = file.key;
    return file.error;
}

} // namespace

// The generated device-secret key (and, in dev mode, the JWT secret) is written beside the
// database when the database is first created, so such a file without its database means the
// database was there and is gone (deleted, moved, an unmounted volume): starting would create an
// empty one and silently lose every account and device. Starting empty on purpose means
// removing those files too (a kept dev JWT secret would accept tokens of users that are gone).
std::string refuse_lost_database(config const& c)
{
    auto const& db = c.server.database;
    if (!is_database_file(db))
        return {};
    std::error_code ec;
    if (std::filesystem::exists(db, ec))
        return {};
    std::vector<std::string> left;
    // With RELAY_SECRET_KEY set, <db>.key is not this relay's and proves nothing.
    for (auto const* suffix : {".key", ".jwt"})
        if ((c.server.secret_key.empty() || std::string_view(suffix) != ".key") &&
            std::filesystem::exists(db + suffix, ec))
            left.push_back(db + suffix);
    if (left.empty())
        return {};
    auto files = fmt::format("{}", fmt::join(left, " and "));
    return fmt::format("the database {} is missing but {} {} beside it, so the database was lost; restore it "
                       "from a backup, or remove {} to start with an empty database",
                       db, files, left.size() == 1 ? "exists" : "exist", files);
}

config_result load_config(std::vector<std::string> const& args, char** envp)
{
    config_result out;
    std::map<std::string, std::string> env_values, file_values, flag_values;
    for (char** e = envp; e && *e; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        if (eq == std::string_view::npos) continue;
        auto key = kv.substr(0, eq);
        if (find_by_env(key))
            env_values[std::string(key)] = std::string(kv.substr(eq + 1));
    }

    std::string config_path;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a == "--help" || a == "-h") {
            out.help = true;
            continue;
        }
        // A subcommand's switch without a value (relayd db copy … --replace).
        if (!a.starts_with("--") || a == "--replace") {
            out.rest.emplace_back(a);
            continue;
        }
        a.remove_prefix(2);
        std::string name, value;
        auto eq = a.find('=');
        if (eq != std::string_view::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        } else {
            name = a;
            if (i + 1 >= args.size()) {
                out.error = fmt::format("--{} needs a value", name);
                return out;
            }
            value = args[++i];
        }
        if (name == "config") {
            config_path = value;
            continue;
        }
        auto const* s = find_by_flag(name);
        if (!s) {
            out.rest.push_back("--" + name);
            out.rest.push_back(value);
            continue;
        }
        flag_values[std::string(s->env)] = value;
    }
    if (config_path.empty() && env_values.count("RELAY_CONFIG"))
        config_path = env_values["RELAY_CONFIG"];
    if (!config_path.empty()) {
        if (auto e = read_config_file(config_path, file_values); !e.empty()) {
            out.error = e;
            return out;
        }
    }

    // Lowest precedence first, so later sources overwrite earlier ones.
    std::map<std::string, std::pair<std::string, std::string_view>> merged; // env name -> (value, source)
    for (auto& [k, v] : env_values) merged[k] = {v, "environment"};
    for (auto& [k, v] : file_values) merged[k] = {v, "config file"};
    for (auto& [k, v] : flag_values) merged[k] = {v, "flag"};
    for (auto const& s : settings()) {
        auto it = merged.find(std::string(s.env));
        if (it == merged.end()) continue;
        if (auto e = s.apply(it->second.first, out.cfg); !e.empty()) {
            out.error = fmt::format("invalid {} (from {}): {}", s.env, it->second.second, e);
            return out;
        }
    }

    auto& srv = out.cfg.server;
    if (srv.tls_cert.empty() != srv.tls_key.empty()) {
        out.error = "RELAY_TLS_CERT and RELAY_TLS_KEY must be set together";
        return out;
    }
    auto const& turn = out.cfg.turn;
    if (turn.provider == "coturn" && (turn.secrets.empty() || turn.urls.empty())) {
        out.error = "RELAY_TURN_PROVIDER=coturn needs RELAY_TURN_SECRET and RELAY_TURN_URLS";
        return out;
    }
    if (turn.provider == "cloudflare" && (turn.cf_key_id.empty() || turn.cf_api_token.empty())) {
        out.error = "RELAY_TURN_PROVIDER=cloudflare needs RELAY_CF_TURN_KEY_ID and RELAY_CF_TURN_API_TOKEN";
        return out;
    }
    if (srv.metrics_port && *srv.metrics_port != 0 && *srv.metrics_port == srv.port) {
        out.error = "RELAY_METRICS_PORT must differ from RELAY_PORT: the private metrics listener is a second socket";
        return out;
    }
    if (srv.replay_max_bytes > srv.replay_max_total_bytes) {
        out.error = "RELAY_REPLAY_MAX_BYTES (per device) must not exceed RELAY_REPLAY_MAX_TOTAL_BYTES (all devices)";
        return out;
    }
    if (srv.idle_timeout <= srv.ping_interval) {
        out.error = "RELAY_IDLE_TIMEOUT must be longer than RELAY_PING_INTERVAL";
        return out;
    }
    auto& cluster = out.cfg.cluster;
    if (cluster.node_timeout < 2 * cluster.heartbeat) {
        out.error = "RELAY_NODE_TIMEOUT_MS must be at least twice RELAY_NODE_HEARTBEAT_MS";
        return out;
    }
    if (!cluster.redis_url.empty() && cluster.node_id.empty()) {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) != 0 || !valid_node_id(host))
            std::snprintf(host, sizeof host, "relayd");
        cluster.node_id = fmt::format("{}:{}", host, srv.port);
    }
    return out;
}

std::string settings_help()
{
    std::string out;
    for (auto const& s : settings())
        out += fmt::format("  --{:<26} {:<30} {}\n", s.flag, s.env, s.help);
    return out;
}

/** Exposed for the serve command: only resolves the key when the store will really be used. */
std::string prepare_secret_key(config& c)
{
    if (auto e = refuse_lost_database(c); !e.empty())
        return e;
    return resolve_secret_key(c);
}

std::string prepare_jwt_secret(config& c)
{
    if (!c.server.jwt_secret.empty())
        return {};
    // In development a restart must not log everyone out (relay-cli watch reconnecting after
    // `scripts/dev.sh serve` is restarted), so the generated secret is kept like the device key.
    if (c.server.dev && is_database_file(c.server.database)) {
        auto file = key_beside_database(c, ".jwt", "RELAY_JWT_SECRET", "development JWT secret",
                                        "access tokens survive restarts on this database. "
                                        "Set RELAY_JWT_SECRET (32+ bytes) in production");
        if (file.error.empty())
            c.server.jwt_secret = relay::auth::hex_encode(file.key);
        return file.error;
    }
    c.server.jwt_secret = relay::auth::hex_encode(relay::auth::random_bytes(32));
    c.warnings.push_back("RELAY_JWT_SECRET is not set: using a random secret; access tokens will not survive a "
                         "restart. Set RELAY_JWT_SECRET (32+ bytes) in production");
    return {};
}

} // namespace relayd
