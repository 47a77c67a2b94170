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
class robot_link;

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
     * every kind before start(). One handler per kind. Kinds contain no space or newline;
     * "replace" and "node_down" are the cluster part's own.
     */
    using node_message_handler = std::function<void(std::string_view from_node, std::string_view payload)>;
    virtual void on_node_message(std::string kind, node_message_handler handler) = 0;

    /** Sends a message to one node (fire and forget: lost when that node is gone). */
    virtual void send_to_node(std::string const& node, std::string_view kind, std::string payload) = 0;

    /**
     * Sends a message to the node whose robot holds `device_id` now, in one step with looking it
     * up. `done(ec, node)`: ec is relay::errc::device_offline when no node holds the robot,
     * relay::errc::node_unreachable when Redis is out of reach (answered at once; nothing was sent).
     */
    using routed_handler = std::function<void(boost::system::error_code ec, std::string const& node)>;
    virtual void send_to_robot_node(std::string const& device_id, std::string_view kind, std::string payload,
                                    routed_handler done) = 0;

    /**
     * Called with a node's id when it is gone (declared dead or stopped): whatever waits for
     * an answer from it fails now instead of at its deadline. Register before start().
     */
    virtual void on_node_down(std::function<void(std::string const& node)> handler) = 0;

    // --- broadcasts: what every other node must apply too (access changes) ------------------
    /**
     * Sends a message of `kind` to every other node (never back to this one, which applies its
     * own change itself). Fire and forget: a node that is away misses it (its connections then
     * were cut anyway).
     */
    virtual void broadcast(std::string_view kind, std::string payload) = 0;
    /** Handles broadcasts of `kind` from the other nodes: `handler(from_node, payload)`. */
    virtual void on_broadcast(std::string kind, node_message_handler handler) = 0;

    // --- ownership: a robot is online on exactly one node -----------------------------------
    /**
     * `link`, just attached to the local hub for `device_id`, claims the robot for this node: a
     * new generation, this node and this connection in the owner record. A previous owner on
     * another node is told to close its connection (4409, quietly). When no node held the robot,
     * `robot_connected` is published to every node's apps and `done(true)` is called; else
     * `done(false)`. While Redis is away the claim waits and is made once it is back (the later
     * claim wins: a connection of the same robot on another node meanwhile is then replaced).
     */
    virtual void claim_robot(std::string const& device_id, std::shared_ptr<robot_link> const& link,
                             std::function<void(bool came_online)> done) = 0;
    /**
     * `link`'s connection ended. When the owner record still names it, it is removed and, if
     * `announce` (the connection was still the hub's for the device), `robot_disconnected` is
     * published and `done(true)` called; a connection replaced by a newer one (on this node or
     * another) leaves quietly: `done(false)`.
     */
    virtual void release_robot(std::string const& device_id, robot_link const* link, bool announce,
                               std::function<void(bool went_offline)> done) = 0;
    /**
     * Whether each device's robot is online on some node, in one round trip. `ec` is
     * relay::errc::node_unreachable while Redis is away (callers then use the local hub).
     */
    using online_handler = std::function<void(boost::system::error_code ec, std::vector<bool> online)>;
    virtual void online(std::vector<std::string> device_ids, online_handler done) = 0;

    /** The Redis connection as /stats shows it. */
    struct status {
        bool up = false;
        double rtt_ms = 0;           ///< last heartbeat's round trip
        std::uint64_t reconnects = 0; ///< times the connection came back
        std::int64_t subscriptions = 0; ///< channels the node's subscriber connection holds
        std::size_t robots = 0;        ///< robots this node owns
    };
    virtual status current_status() const = 0;
};

} // namespace relay::routing
