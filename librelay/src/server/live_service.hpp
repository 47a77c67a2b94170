#pragma once
// The live service: who is connected right now and how messages reach them — the broker part,
// the hub (robots online, app connections, pending commands and tunnel calls), the WebRTC
// sessions in progress and every open WebSocket for shutdown. No store, no sockets of its own.
#include <relay/routing/broker.hpp>
#include <relay/routing/cluster.hpp>
#include <relay/routing/hub.hpp>
#include <relay/routing/webrtc_registry.hpp>
#include <relay/server/options.hpp>

#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace relay::server {

class ws_connection;
class cluster_routing;

/** Every live WebSocket connection, so shutdown can tell each one to reconnect elsewhere. */
class connection_registry {
public:
    void add(std::shared_ptr<ws_connection> const& c);
    void remove(ws_connection const* c);
    /** The live connections of one kind ("app" or "robot"). */
    std::vector<std::shared_ptr<ws_connection>> of_kind(std::string_view kind) const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_; // guards live_
    std::unordered_map<ws_connection const*, std::weak_ptr<ws_connection>> live_;
};

/** The live service. Thread-safe: each member guards itself. */
struct live_service {
    live_service(server_options const& options, std::shared_ptr<routing::broker> b,
                 std::shared_ptr<routing::cluster> c);

    /** The broker part (parts.hpp): in-process unless the embedder or relayd gave another. */
    std::shared_ptr<routing::broker> const broker;
    /** The other nodes (parts.hpp); null when this process is the whole relay. */
    std::shared_ptr<routing::cluster> const cluster;
    /** Requests for robots on other nodes (cluster_routing.hpp); null without a cluster. */
    std::shared_ptr<cluster_routing> cross_node;
    routing::hub hub{*broker};
    /** WebRTC signaling sessions in progress. */
    routing::webrtc_registry webrtc;
    connection_registry connections;
};

} // namespace relay::server
