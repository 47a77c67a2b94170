#pragma once
/** @file Everything the relay server can be configured with. relayd fills it from the
 * environment, a config file and flags (see docs/configuration.md); tests fill it directly. */
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace relay::server {

/** A token bucket: `rate` tokens per second, at most `burst` banked. */
struct rate_limit {
    double rate = 0;
    double burst = 0;
};

struct server_options {
    // Listening (RELAY_HOST, RELAY_PORT). Port 0 picks a free port (tests).
    std::string host = "0.0.0.0";
    std::uint16_t port = 8000;
    /**
     * A second, private listener that serves only GET /metrics, in plain HTTP even when the main
     * listener speaks TLS (RELAY_METRICS_HOST, RELAY_METRICS_PORT). When it is set, /metrics is
     * no longer served on the main listener. Unset: no second listener, /metrics on the main one.
     * Port 0 picks a free port (tests).
     */
    std::string metrics_host = "127.0.0.1";
    std::optional<std::uint16_t> metrics_port;
    /** Worker threads for network I/O; 0 means one per core. */
    unsigned threads = 0;
    /**
     * How long a network thread keeps polling for more work once it has none, before it
     * sleeps (RELAY_BUSY_POLL_US). Waking a sleeping thread costs tens of microseconds on a
     * virtual machine, twice or more per command round trip; polling saves that at the price
     * of CPU while traffic flows. 0 (the default) sleeps at once.
     */
    std::chrono::microseconds busy_poll{0};

    /** Store (RELAY_DATABASE): a SQLite path, ":memory:", or a postgresql:// URL. Opened by
     * start() only when `parts::store` is empty (parts.hpp). */
    std::string database = "relay.db";
    /** Connections to PostgreSQL (RELAY_DATABASE_POOL); unused with SQLite. */
    std::size_t database_pool = 4;
    /**
     * Threads that run store calls, password hashing and TURN provider calls. 0 picks: 2 with
     * SQLite (one connection serializes its calls anyway); with PostgreSQL, database_pool + 1,
     * so that every connection can be busy while a password is hashed.
     */
    unsigned blocking_threads = 0;

    // Access tokens (RELAY_JWT_SECRET, RELAY_ACCESS_TTL, RELAY_REFRESH_TTL).
    std::string jwt_secret;
    std::chrono::seconds access_ttl{900};
    std::chrono::seconds refresh_ttl{2592000};

    /** Key sealing device secrets at rest (RELAY_SECRET_KEY: 64 hex chars or base64 of 32 bytes). */
    std::string secret_key;

    /** log2 of scrypt's cost for new password hashes (RELAY_SCRYPT_LN); older hashes upgrade on login. */
    unsigned scrypt_log_n = 15;

    bool dev = false;                    // RELAY_DEV
    bool open_registration = true;       // RELAY_OPEN_REGISTRATION
    std::vector<std::string> cors_origins; // RELAY_CORS_ORIGINS
    /**
     * RELAY_PUBLIC_URL: the relay's base URL as browsers reach it ("https://relay.example.com"),
     * checked by normalize_public_url (reset_notifier.hpp); empty = links relative to the relay.
     * The password-reset link of the default notifier starts with it.
     */
    std::string public_url;
    /**
     * Addresses of reverse proxies (nginx) whose X-Forwarded-For is believed (RELAY_TRUSTED_PROXIES).
     * From anyone else the header is ignored, so a client cannot pick its own address.
     */
    std::vector<std::string> trusted_proxies;

    // TURN (section 4 of the contract). Which provider issues credentials is a part (parts.hpp):
    // relayd builds it from RELAY_TURN_PROVIDER and its settings.
    std::chrono::seconds turn_ttl{86400};  ///< RELAY_TURN_TTL: lifetime of issued credentials
    std::vector<std::string> stun_urls;    ///< RELAY_STUN_URLS; the default provider's STUN list
    /** RELAY_TURN_PROBE_INTERVAL: seconds between TURN self-probes (a real Allocate with fresh
     * credentials on each TURN URL, docs/webrtc.md); 0 turns the probe off. */
    std::chrono::seconds turn_probe_interval{300};

    // TLS (RELAY_TLS_CERT, RELAY_TLS_KEY): both set means https/wss.
    std::string tls_cert;
    std::string tls_key;

    // Limits.
    std::size_t read_message_max = 64 * 1024;      ///< largest WebSocket message accepted
    std::size_t http_body_max = 64 * 1024;         ///< largest JSON API request body
    std::size_t tunnel_body_max = 1024 * 1024;     ///< largest REST-tunnel body, both ways
    /** REST-tunnel allow list: "METHOD /path" patterns (see docs/api.md); empty = the default. */
    std::vector<std::string> tunnel_allow;
    std::chrono::seconds tunnel_timeout{15};       ///< a robot's time to answer a tunnelled request
    std::size_t tunnel_max_per_device = 32;        ///< tunnelled requests in flight per robot
    std::size_t tunnel_max_per_user = 16;          ///< and per user
    rate_limit app_rate{50, 100};                  ///< messages per app connection
    rate_limit robot_rate{200, 400};               ///< messages per robot connection
    double webrtc_requests_per_minute = 10;        ///< per app connection
    std::size_t webrtc_max_per_device = 4;         ///< concurrent WebRTC sessions per robot
    std::chrono::seconds webrtc_offer_timeout{30}; ///< webrtc_request → the robot's offer
    std::chrono::seconds webrtc_answer_timeout{30};///< offer → the app's answer
    /** A renewal's first `connected` report → the relay closes the session it replaces. */
    std::chrono::seconds webrtc_replace_grace{15};
    std::size_t send_queue_max_messages = 4096;    ///< slow-consumer policy, see docs/protocol.md
    std::size_t send_queue_max_bytes = 8 * 1024 * 1024;
    std::size_t replay_max_events = 1000;          ///< per device
    std::chrono::seconds replay_max_age{600};
    std::size_t replay_max_bytes = std::size_t(4) << 20;         ///< per device, see docs/configuration.md
    std::size_t replay_max_total_bytes = std::size_t(256) << 20; ///< all devices together
    std::chrono::seconds auth_timeout{10};         ///< first-message auth and device challenge
    std::chrono::seconds ping_interval{30};
    std::chrono::seconds idle_timeout{75};
    std::chrono::seconds shutdown_grace{10};
    /** How long the audit trail keeps an entry (RELAY_AUDIT_RETENTION, in days); 0 = forever. */
    std::chrono::seconds audit_retention{std::chrono::hours(24 * 90)};
};

} // namespace relay::server
