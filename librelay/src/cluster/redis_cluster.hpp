#pragma once
// The cluster part of a node on Redis (routing::cluster): node messages on each node's own
// channel, broadcasts on relay:control, robot ownership records with a generation and a TTL
// renewed by the node's heartbeat, and a reaper that declares silent nodes dead.
//
// Keys (one Redis; the {device} hash tags keep a device's keys together):
//   relay:{<device>}:owner     "<node> <generation> <token>", PX node_timeout, renewed by heartbeat
//   relay:{<device>}:gen       the device's generation counter (INCR on every claim)
//   relay:node:<node>:robots   SET of the devices a node claimed (to find a dead node's robots)
//   relay:nodes                ZSET node -> last heartbeat (Redis TIME, ms)
// Channels: relay:node:<node> (node messages; the client's probe travels there too) and
// relay:control (broadcasts and node_down). A message is "<kind> <from>\n<body>".
#include "cluster/redis_client.hpp"

#include <relay/cluster/redis.hpp>
#include <relay/routing/cluster.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace relay::cluster {

/** The channel every node subscribes to for broadcasts and node_down. */
inline constexpr std::string_view control_channel = "relay:control";

/** A node message as it travels: kind, sender and body, recovered without ambiguity. */
struct node_frame {
    std::string_view kind;
    std::string_view from;
    std::string_view body;
};
std::string frame_node_message(std::string_view kind, std::string_view from, std::string_view body);
/** Nothing when `payload` is not a node message (the client's probe starts with NUL). */
std::optional<node_frame> parse_node_message(std::string_view payload) noexcept;

/** The cluster part of one node, on `client` (shared with the node's broker). */
std::shared_ptr<routing::cluster> make_redis_cluster(std::shared_ptr<redis_client> client, redis_settings const& settings,
                                                     std::shared_ptr<telemetry::logger> log,
                                                     std::shared_ptr<telemetry::registry> metrics);

} // namespace relay::cluster
