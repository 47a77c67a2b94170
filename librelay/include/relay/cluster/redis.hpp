#pragma once
/** @file
 * Several relayd nodes on one Redis (RELAY_REDIS_URL): the parts that replace the in-process
 * broker and add the cluster part. Both share one pipelined command connection and one
 * subscriber connection per node (hiredis through an Asio adapter), on a thread of their own.
 */
#include <relay/routing/broker.hpp>
#include <relay/routing/cluster.hpp>
#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace relay::cluster {

/** Where Redis is: redis://[:password@]host:port[/db]. No TLS (hiredis 0.14 has none). */
struct redis_location {
    std::string host;
    std::uint16_t port = 6379;
    std::string password; ///< empty: no AUTH
    int db = 0;
};

/** Parses a redis:// URL; the error's message says what is wrong (never the password). */
boost::system::result<redis_location> parse_redis_url(std::string_view url, std::string* why = nullptr);

/** The same URL with the password replaced by `***`, for logs and messages. */
std::string redact_redis_url(std::string_view url);

struct redis_settings {
    redis_location where;
    /** This node's name among the nodes (RELAY_NODE_ID); unique, stable across restarts. */
    std::string node_id;

    // Events history per device in Redis (a capped stream; RELAY_REPLAY_MAX_EVENTS/_AGE).
    std::size_t history_max_events = 1000;
    std::chrono::seconds history_max_age{600};
    /** Events held while Redis is away, published in order once it is back (all devices). */
    std::size_t backlog_max_events = 10000;

    /** A node's heartbeat period and how long a silent node lives on (then: its robots offline). */
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds node_timeout{5000};

    // The connections.
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{2000};
    /** A command unanswered this long fails (and the connection is presumed dead). */
    std::chrono::milliseconds command_timeout{3000};
    /** Commands waiting for an answer or a connection; beyond it, new ones fail at once. */
    std::size_t max_pending_commands = 100000;
    /** The subscriber connection's liveness probe (a message on the node's own channel). */
    std::chrono::milliseconds probe_interval{1000};
    std::chrono::milliseconds probe_timeout{3000};
};

/** The broker and the cluster of one node, sharing its Redis connections. */
struct redis_parts {
    std::shared_ptr<routing::broker> broker;
    std::shared_ptr<routing::cluster> cluster;
};

/**
 * Builds a node's parts. Nothing connects until the server starts the cluster part
 * (routing::cluster::start); an unreachable Redis is then retried with back-off, never fatal.
 */
redis_parts make_redis_parts(redis_settings settings, std::shared_ptr<telemetry::logger> log,
                             std::shared_ptr<telemetry::registry> metrics);

} // namespace relay::cluster
