#pragma once
// The broker of a node on Redis: seq, history and the ids of kept events live in Redis, written
// by one script per publish; delivery goes through Redis pub/sub on the device's channel, which
// this node subscribes to only while it has a local subscriber for the device.
#include "cluster/redis_client.hpp"

#include <relay/cluster/redis.hpp>
#include <relay/routing/broker.hpp>

#include <memory>

namespace relay::cluster {

/** The broker of one node, on `client` (shared with the node's cluster part). */
std::shared_ptr<routing::broker> make_redis_broker(std::shared_ptr<redis_client> client, redis_settings const& settings,
                                                   std::shared_ptr<telemetry::logger> log,
                                                   std::shared_ptr<telemetry::registry> metrics);

} // namespace relay::cluster
