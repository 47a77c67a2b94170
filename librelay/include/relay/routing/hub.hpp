#pragma once
/** @file
 * The hub is what sessions talk to: which robot is connected for a device, which app
 * connections a user has, where a command's result goes, and the broker that carries events.
 * It knows no sockets: sessions implement robot_link and app_link.
 */
#include <relay/protocol/close_code.hpp>
#include <relay/protocol/common.hpp>
#include <relay/protocol/device_inbound.hpp>
#include <relay/protocol/errc.hpp>
#include <relay/routing/broker.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace relay::routing {

/** A robot's live connection. Every member may be called from any thread and must not block. */
class robot_link {
public:
    virtual ~robot_link() = default;
    virtual void send(std::shared_ptr<std::string const> frame) = 0;
    virtual void close(protocol::close_code code) = 0;
};

/** An app's live connection; it receives its devices' channel messages as a subscriber. */
class app_link : public subscriber {
public:
    virtual void send(std::shared_ptr<std::string const> frame) = 0;
    /** The user's role on a device changed (nullopt: access removed). */
    virtual void access_changed(std::string const& device_id, std::optional<protocol::role> role) = 0;
    /**
     * A login of the connection's user ended: the one named `login_id` (a logout; the id is
     * the access token's `sid`), or every login when `login_id` is empty (password reset,
     * refresh-token reuse, account removal). A connection that belongs to it closes.
     */
    virtual void login_ended(std::string const& login_id) = 0;
    virtual void close(protocol::close_code code) = 0;
};

/** Someone waiting for a robot's `http_response` (REST tunnel). Any thread; must not block. */
class tunnel_waiter {
public:
    virtual ~tunnel_waiter() = default;
    /** The robot answered. */
    virtual void complete(protocol::robot_http_response response) = 0;
    /** No answer will come (the robot left, the device was deleted). */
    virtual void fail(errc code, std::string message) = 0;
};

class hub {
public:
    explicit hub(broker& b) noexcept : broker_(b) {}

    broker& events() noexcept { return broker_; }

    // --- robots -------------------------------------------------------------------------
    /** Makes `link` the device's connection; returns the one it replaces (to close with 4409). */
    std::shared_ptr<robot_link> attach_robot(std::string const& device_id, std::shared_ptr<robot_link> link);
    /** Removes `link` if it is still the device's connection; true when it was. */
    bool detach_robot(std::string const& device_id, robot_link const* link);
    std::shared_ptr<robot_link> robot(std::string const& device_id) const;
    bool online(std::string const& device_id) const { return robot(device_id) != nullptr; }

    // --- apps ---------------------------------------------------------------------------
    /** Registers an authenticated app connection and subscribes it to `device_ids`. */
    void attach_app(std::string const& user_id, std::shared_ptr<app_link> const& link,
                    std::vector<std::string> const& device_ids);
    /** Forgets an app connection and unsubscribes it from `device_ids`. */
    void detach_app(std::string const& user_id, app_link const* link, std::vector<std::string> const& device_ids);
    /** The user's live app connections. */
    std::vector<std::shared_ptr<app_link>> apps_of(std::string const& user_id) const;

    /**
     * A user's role on a device changed in the store (shared, role changed, unshared): every
     * live connection of that user is (un)subscribed at once and told.
     */
    void set_access(std::string const& user_id, std::string const& device_id, std::optional<protocol::role> role);

    /**
     * Login `login_id` of a user ended (logout): the app connections opened or renewed with it
     * close. Connections whose token named no login are left to their token's expiry.
     */
    void end_login(std::string const& user_id, std::string const& login_id);
    /**
     * Every login of a user ended (password reset, refresh-token reuse, account removal):
     * all of the user's app connections close.
     */
    void end_all_logins(std::string const& user_id);

    /** A device was deleted: its users lose access, its robot is closed, its history dropped. */
    void remove_device(std::string const& device_id, std::vector<std::string> const& user_ids);

    // --- commands -----------------------------------------------------------------------
    /** Remembers who sent command `id` to a device; false when that id is already pending. */
    bool register_command(std::string const& device_id, std::string const& id, std::weak_ptr<app_link> origin);
    /** The app that sent command `id` (and forgets it); null when unknown or its app is gone. */
    std::shared_ptr<app_link> take_command(std::string const& device_id, std::string const& id);
    /** Forgets every pending command of a device and returns who sent them, by id. */
    std::vector<std::pair<std::string, std::shared_ptr<app_link>>> take_all_commands(std::string const& device_id);

    // --- REST tunnel ----------------------------------------------------------------------
    /**
     * Registers a tunnelled request `id` (relay-chosen, unique) to a device, charging it to
     * `user_id`. False when the device already has `max_per_device` or the user `max_per_user`
     * requests in flight.
     */
    bool register_tunnel(std::string const& device_id, std::string const& id, std::string const& user_id,
                         std::weak_ptr<tunnel_waiter> waiter, std::size_t max_per_device, std::size_t max_per_user);
    /** The waiter for `id` (and forgets it); null when unknown, late or already answered. */
    std::shared_ptr<tunnel_waiter> take_tunnel(std::string const& device_id, std::string const& id);
    /** Forgets every tunnelled request of a device and returns their waiters. */
    std::vector<std::shared_ptr<tunnel_waiter>> take_all_tunnels(std::string const& device_id);
    /** Forgets every tunnelled request of every device (shutdown) and returns their waiters. */
    std::vector<std::shared_ptr<tunnel_waiter>> take_every_tunnel();

    /** Pending commands older than this are forgotten (their robot never answered). */
    static constexpr std::chrono::minutes command_ttl{5};
    /** At most this many pending commands per device; more are refused. */
    static constexpr std::size_t max_pending_commands = 1024;

private:
    broker& broker_;

    mutable std::mutex robots_mutex_; // guards robots_
    std::unordered_map<std::string, std::weak_ptr<robot_link>> robots_;

    mutable std::mutex apps_mutex_; // guards apps_
    std::unordered_map<std::string, std::vector<std::weak_ptr<app_link>>> apps_;

    struct pending_command {
        std::weak_ptr<app_link> origin;
        std::chrono::steady_clock::time_point at;
    };
    std::mutex commands_mutex_; // guards commands_
    std::unordered_map<std::string, std::unordered_map<std::string, pending_command>> commands_;

    struct pending_tunnel {
        std::weak_ptr<tunnel_waiter> waiter;
        std::string user_id;
    };
    std::mutex tunnels_mutex_; // guards tunnels_ and tunnels_per_user_
    std::unordered_map<std::string, std::unordered_map<std::string, pending_tunnel>> tunnels_;
    std::unordered_map<std::string, std::size_t> tunnels_per_user_;
    void release_user(std::string const& user_id); // tunnels_mutex_ held
};

} // namespace relay::routing
