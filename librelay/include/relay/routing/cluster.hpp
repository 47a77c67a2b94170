#pragma once
/** @file
 * The cluster part: what one relay node needs from the others when several share the work
 * (relay/cluster/redis.hpp). Without it (the default) relayd is one process and the hub is the
 * whole truth. With it, a robot is online on exactly one node (an owner record with a
 * generation), and requests for a robot held by another node travel there as node messages.
 *
 * Every member may be called from any thread and never blocks; handlers and callbacks run on
 * the cluster's own thread and must not block either (post to your own executor).
 */
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::routing {

class hub;

class cluster {
public:
    virtual ~cluster() = default;

    /** This node's id (RELAY_NODE_ID). */
    virtual std::string const& node_id() const noexcept = 0;

    /** Connects and starts the heartbeat; `local` is this node's hub (robots, apps here). */
    virtual void start(hub& local) = 0;
    /** Stops: this node's robots are released (offline unless they reconnect elsewhere). */
    virtual void stop() = 0;

    /** Empty when healthy, else what is wrong (for /health's `redis` check). */
    virtual std::string health() const = 0;

    // --- node messages: the transport cross-node routing is built on ------------------------
    /**
     * Handles messages of `kind` sent to this node: `handler(from_node, payload)`. Register
     * every kind before start(). One handler per kind.
     */
    using node_message_handler = std::function<void(std::string_view from_node, std::string_view payload)>;
    virtual void on_node_message(std::string kind, node_message_handler handler) = 0;

    /** Sends a message to one node (fire and forget: lost when that node is gone). */
    virtual void send_to_node(std::string const& node, std::string_view kind, std::string payload) = 0;

    /**
     * Sends a message to the node whose robot holds `device_id` now, in one step with looking it
     * up. `done(ec, node)`: ec is relay::errc::device_offline when no node holds the robot,
     * relay::errc::unavailable when Redis is out of reach (then nothing was sent).
     */
    using routed_handler = std::function<void(boost::system::error_code ec, std::string const& node)>;
    virtual void send_to_robot_node(std::string const& device_id, std::string_view kind, std::string payload,
                                    routed_handler done) = 0;

    /**
     * Called with a node's id when it is gone (declared dead or stopped): whatever waits for
     * an answer from it fails now instead of at its deadline. Register before start().
     */
    virtual void on_node_down(std::function<void(std::string const& node)> handler) = 0;
};

} // namespace relay::routing
