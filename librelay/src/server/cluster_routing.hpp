#pragma once
// Requests across relay nodes (docs/protocol.md, "Requests across nodes"): a command, a
// tunnelled HTTP request or a WebRTC session from an app on this node for a robot held by
// another, over the cluster's node messages. The robot's node acts for the app through proxy
// links (an app_link standing for the asking connection, a tunnel_waiter standing for its call),
// so its hub, device_session and WebRTC registry work as on one node; the app's node keeps what
// it waits for, by node, so a node that goes away settles it at once.
#include "server/webrtc.hpp"

#include <relay/protocol/errc.hpp>
#include <relay/protocol/webrtc.hpp>
#include <relay/routing/cluster.hpp>
#include <relay/routing/hub.hpp>
#include <relay/routing/webrtc_registry.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

namespace relay::server {

struct runtime;
struct live_service;

/**
 * Cross-node routing on one node, both roles: the app's node (asks) and the robot's node (acts).
 * Thread-safe (one mutex over its tables); node messages are handled on the cluster's thread and
 * never block. Built by services when a cluster is configured; attach() before the cluster starts.
 */
class cluster_routing : public std::enable_shared_from_this<cluster_routing> {
public:
    cluster_routing(runtime& rt, live_service& live, routing::cluster& cluster);

    /** Registers the node-message and node-down handlers (before cluster::start). */
    void attach();

    // --- this node's app connections, addressed by id in node messages -------------------
    /** A fresh id for an app connection that asks another node for something. */
    std::uint64_t connection_id(std::weak_ptr<routing::app_link> app);
    /** The connection ended: its id and its pending cross-node commands are forgotten. */
    void forget_connection(std::uint64_t conn);

    // --- the app's node -------------------------------------------------------------------
    /**
     * Sends command `id` (`frame`: the robot_command, serialized once) to the robot's node. The
     * app hears back through its link: the ack, then the result; or one error (DEVICE_OFFLINE,
     * BAD_MESSAGE for a pending id, NODE_UNREACHABLE when Redis is away, DEVICE_OFFLINE when
     * the robot's node stops). `accepted` (may be empty) runs on the cluster's thread when the
     * robot's node has queued it, before the app's ack.
     */
    void send_command(std::uint64_t conn, std::string const& device_id, std::string const& id, std::string frame,
                      std::function<void()> accepted = {});

    /**
     * Sends tunnelled request `id` (already registered in this node's hub with its waiter) to the
     * robot's node; the waiter completes or fails from there, or fails when that node stops.
     */
    void send_tunnel(std::string const& device_id, std::string const& id, std::string const& user_id,
                     std::string frame);
    /** The caller gave up on tunnelled request `id` (its deadline passed). */
    void forget_tunnel(std::string const& id);

    /**
     * A session for a robot on another node, in this node's registry with a proxy as its robot
     * end; errors as webrtc_registry::create (`replaces` too). open_webrtc starts it there.
     */
    boost::system::result<std::string> create_webrtc(std::string const& device_id, std::string const& user_id,
                                                     std::weak_ptr<routing::app_link> app,
                                                     std::optional<std::string> const& replaces = std::nullopt);
    /**
     * Asks the robot's node to start session `session_id` (`frame`: the robot's webrtc_request;
     * `replaces`: the session it renews, which that node counts it against as this one did).
     * `done(code, message)` runs on the cluster's thread: code is nullopt when the robot has it.
     */
    void open_webrtc(std::string const& session_id, std::string const& device_id, std::string const& user_id,
                     std::string frame, std::function<void(std::optional<errc>, std::string)> done,
                     std::optional<std::string> const& replaces = std::nullopt);

    // --- the robot's node -----------------------------------------------------------------
    /** The robot's `webrtc_stats` for a session whose app is on another node: recorded there. */
    void forward_stats(routing::webrtc_session_view const& session, protocol::webrtc_stats const& stats);

    /** Forgets what outlived its deadline (tunnel calls, commands never answered); once a second. */
    void sweep(std::chrono::steady_clock::time_point now);

    /** Node-message kinds, one per purpose. */
    struct kinds;

private:
    class remote_app;
    class remote_command_origin;
    class remote_webrtc_app;
    class remote_robot;
    class remote_tunnel_waiter;

    // App's node: handlers of the robot's node's answers.
    void on_command_reply(std::string_view from, std::string_view payload);
    void on_http_reply(std::string_view from, std::string_view payload);
    void on_webrtc_to_app(std::string_view from, std::string_view payload);
    void on_webrtc_stats(std::string_view from, std::string_view payload);
    // Robot's node: handlers of the app's node's requests.
    void on_command(std::string_view from, std::string_view payload);
    void on_http(std::string_view from, std::string_view payload);
    void on_webrtc_open(std::string_view from, std::string_view payload);
    void on_webrtc_reply(std::string_view from, std::string_view payload);
    void on_webrtc_to_robot(std::string_view from, std::string_view payload);
    void on_node_down(std::string const& node);

    void reply_command(std::string const& node, std::uint64_t conn, std::string const& device_id,
                       std::string const& id, std::string frame, bool final);
    void reply_http_error(std::string const& node, std::string const& device_id, std::string const& id, errc code,
                          std::string const& message);
    std::shared_ptr<routing::app_link> connection(std::uint64_t conn) const;
    /** A signal a proxy end carried from the other node, decoded (`link`: that proxy). */
    template <class Decoded>
    void pass_signal(std::string const& session_id, webrtc_end from, void const* link, Decoded const& decoded);
    /** The webrtc_close a proxy end carried: the session ends here too, `who` is told. */
    void end_webrtc(std::string const& session_id, protocol::webrtc_close_notice const& notice, bool tell_app);

    runtime& rt_;
    live_service& live_;
    routing::cluster& cluster_;

    mutable std::mutex mutex_; // guards every table below
    std::uint64_t next_conn_ = 0;
    std::unordered_map<std::uint64_t, std::weak_ptr<routing::app_link>> connections_;
    // App's node: commands waiting for the robot's node, by (connection, device, id).
    struct waiting_command {
        std::string node; // empty until the transport or the first reply says which
        std::function<void()> accepted;
        std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
    };
    std::map<std::tuple<std::uint64_t, std::string, std::string>, waiting_command> commands_out_;
    // App's node: tunnelled requests waiting, by id → (device, node).
    std::unordered_map<std::string, std::pair<std::string, std::string>> tunnels_out_;
    // App's node: robot ends of sessions whose robot is elsewhere, by session id.
    std::unordered_map<std::string, std::shared_ptr<remote_robot>> robots_out_;

    // Robot's node: what stands for the asking connections while the robot answers.
    struct held_command {
        std::shared_ptr<remote_command_origin> origin;
        std::chrono::steady_clock::time_point at;
    };
    std::map<std::pair<std::string, std::string>, held_command> commands_in_; // by (device, id), as the hub
    struct held_tunnel {
        std::shared_ptr<remote_tunnel_waiter> waiter;
        std::string device_id;
        std::chrono::steady_clock::time_point deadline;
    };
    std::unordered_map<std::string, held_tunnel> tunnels_in_;
    std::unordered_map<std::string, std::shared_ptr<remote_webrtc_app>> apps_in_;
};

} // namespace relay::server
