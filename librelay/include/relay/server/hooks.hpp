#pragma once
/** @file What the server tells an embedder as it happens (centrifuge's On… callbacks): a command
 * an app sent to a robot, robots coming online and going offline, apps connecting. */
#include <relay/protocol/app_inbound.hpp>

#include <functional>
#include <string>

namespace relay::server {

/**
 * Callbacks the server calls; each may be left empty. They observe, they do not decide: the wire
 * contract is the same whether they are set or not.
 *
 * Threading: a hook runs on the network thread of the connection it is about, in that
 * connection's order, and several hooks may run at once on different threads. A hook must
 * therefore be thread-safe, return quickly and never block (post slow work elsewhere: every
 * connection on that thread waits while it runs). A hook that throws is logged
 * (`hook_failed`) and otherwise ignored.
 */
struct hooks {
    /** An app's `command` was accepted and forwarded to the robot (after the access checks;
     * before the robot answers). `user_id` is the sender. */
    std::function<void(std::string const& user_id, protocol::app_command const& command)> on_command;
    /** A robot authenticated and its device is online (not called when a connection merely
     * replaces the device's previous one). */
    std::function<void(std::string const& device_id)> on_robot_online;
    /** A device's robot left and the device is offline (not called for a replaced connection). */
    std::function<void(std::string const& device_id)> on_robot_offline;
    /** An app connection authenticated as `user_id` on /ws/app. */
    std::function<void(std::string const& user_id)> on_app_connected;
};

} // namespace relay::server
