#pragma once
// What every node of a cluster must apply to its own live connections: access changes, ended
// logins, deleted devices, robots closed by a secret rotation. Each is applied here at once, then
// broadcast (relay:control) so every other node applies it too; without a cluster only the first
// step happens. Also the `online` of several devices across nodes, in one round trip.
#include "server/net.hpp"

#include <relay/protocol/close_code.hpp>
#include <relay/protocol/common.hpp>

#include <optional>
#include <string>
#include <vector>

namespace relay::routing {
class cluster;
}

namespace relay::server {

struct runtime;
struct live_service;
class auth_service;
struct services;

/** A user's role on a device changed (nullopt: access removed): hub::set_access on every node. */
void set_access_everywhere(live_service& live, std::string const& user_id, std::string const& device_id,
                           std::optional<protocol::role> role);

/** A device was deleted: hub::remove_device (and its WebRTC sessions end) on every node. */
void remove_device_everywhere(runtime& rt, live_service& live, std::string const& device_id,
                              std::vector<std::string> const& user_ids);

/** The device's robot is closed with `code` on whichever node holds it. */
void close_robot_everywhere(live_service& live, std::string const& device_id, protocol::close_code code);

/** Tells the other nodes that a login of a user ended (empty `login_id`: every login). */
void broadcast_logins_ended(routing::cluster& cluster, std::string const& user_id, std::string const& login_id);

/**
 * Applies the other nodes' broadcasts (the calls above, and auth_service's ended logins) on this
 * node. Called once before the cluster starts; nothing without a cluster.
 */
void apply_cluster_broadcasts(services& svc);

/**
 * Whether each device's robot is online: asks the cluster (one round trip) when there is one,
 * else, or while Redis is away, the local hub alone.
 */
net::awaitable<std::vector<bool>> online_everywhere(live_service& live, std::vector<std::string> device_ids);

} // namespace relay::server
