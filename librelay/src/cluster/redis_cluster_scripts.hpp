#pragma once
// The Lua scripts of the cluster part (redis_cluster.cpp) and the keys they touch. Each runs
// atomically in Redis, so a robot's owner record, its generation and its node's set of robots
// change together, whichever node runs it.
//
//   relay:{<device>}:owner  "<node> <generation> <connection token>", TTL node_timeout
//   relay:{<device>}:gen    the device's last generation (INCR)
//   relay:node:<node>:robots  SET of the devices a node owns (found again when it dies)
//   relay:nodes             ZSET node -> its last heartbeat (Redis TIME, ms)
//   channel relay:node:<node>  messages to one node; channel relay:control  to every node
#include "cluster/redis_client.hpp"

#include <string>
#include <string_view>

namespace relay::cluster::cluster_scripts {

inline std::string owner_key(std::string_view device) { return "relay:{" + std::string(device) + "}:owner"; }
inline std::string generation_key(std::string_view device) { return "relay:{" + std::string(device) + "}:gen"; }
inline std::string robots_key(std::string_view node) { return "relay:node:" + std::string(node) + ":robots"; }
inline std::string node_channel(std::string_view node) { return "relay:node:" + std::string(node); }
inline constexpr char const* nodes_key = "relay:nodes";

// Claims a device for a connection: a new generation, the previous record returned.
// KEYS: owner, gen, node's robots; ARGV: node, token, ttl ms, device.
redis_script const& claim_script();

// Releases a device only when the record still names this connection (1), else 0; a device
// another node owns now leaves this node's set. A record already gone (Redis restarted empty
// while the robot left, or a reaper was faster) also answers 1: a robot_disconnected twice is
// better than none. KEYS: owner, node's robots; ARGV: node, token, device.
redis_script const& release_script();

// Renews the TTL of owner records that are still exactly as claimed. Per key: 0 renewed,
// 1 gone (expired or reaped), 2 someone else's now. KEYS: owners; ARGV: ttl ms, records.
redis_script const& renew_script();

// The heartbeat, by Redis's clock so nodes' clocks do not matter. KEYS: nodes; ARGV: node.
redis_script const& heartbeat_script();

// Declares nodes silent for node_timeout dead, in one atomic step (so exactly one node reaps
// each): removes them from the nodes, and each one's owner records that still name it (or have
// expired). Answers node, count, devices..., node, count, ... KEYS: nodes; ARGV: timeout ms, self.
redis_script const& reap_script();

// A node starting (again) under its id: the records of its previous run (another incarnation)
// go. Answers whether the previous run left a heartbeat behind (it did not stop cleanly), then
// the devices it still owned. KEYS: nodes, node's robots; ARGV: node, incarnation.
// Stopping cleanly (ARGV[2] empty) removes every record naming the node and the node itself.
redis_script const& retire_script();

// Looks up a device's node and publishes to it in the same step. KEYS: owner; ARGV: message.
redis_script const& route_script();

} // namespace relay::cluster::cluster_scripts
