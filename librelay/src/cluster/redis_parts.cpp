// make_redis_parts: one node's broker and cluster part on one shared Redis client (a pipelined
// command connection and a subscriber connection). The cluster part starts and stops the client.
#include "cluster/redis_broker.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/redis_cluster.hpp"

#include <relay/cluster/redis.hpp>

namespace relay::cluster {

redis_parts make_redis_parts(redis_settings settings, std::shared_ptr<telemetry::logger> log,
                             std::shared_ptr<telemetry::registry> metrics)
{
    if (!log)
        log = std::make_shared<telemetry::logger>();
    if (!metrics)
        metrics = std::make_shared<telemetry::registry>();
    auto client = std::make_shared<redis_client>(settings, log, metrics);
    redis_parts parts;
    parts.broker = make_redis_broker(client, settings, log, metrics);
    parts.cluster = make_redis_cluster(std::move(client), settings, std::move(log), std::move(metrics));
    return parts;
}

} // namespace relay::cluster
