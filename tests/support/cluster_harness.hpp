#pragma once
/** @file
 * Several relayd nodes on one Redis, for the cluster tests: a private redis-server (REDIS's
 * tests/redis harness) and N relayd processes sharing one SQLite file in a temporary directory,
 * the same RELAY_JWT_SECRET and RELAY_SECRET_KEY, RELAY_REDIS_URL and RELAY_NODE_ID=node-<i>,
 * each on a port of its own that it keeps across kill_node/start_node. Households (an owner, a
 * device, members) are made through the public API of any node, since they share the database,
 * and clients connect to the node a scenario names, so a test reads like the contract:
 *
 *     cluster_harness c;                       // redis + node-0..node-2
 *     auto h = c.make_household();             // owner, operator, viewer, stranger, device
 *     auto robot = c.connect_robot(0, h.dev);  // robot on node 0
 *     auto app = c.connect_app(1, h.owner);    // app on node 1
 *
 * Proving that nothing arrived on another node: the barrier of support/barrier.hpp holds per
 * node, not across nodes. Wait until a witness with access ON THE SAME NODE as the client that
 * must see nothing has the message, then expect_nothing_before_pong on that client: the node fans
 * a message out to its local connections in one step, so whatever it sent the client is queued
 * before the pong.
 */
#include "cluster/eventually.hpp"
#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::test {

namespace redis {
class redis_server;
}

struct cluster_options {
    /** How many relayd nodes (node-0 … node-<n-1>). */
    std::size_t nodes = 3;
    /** Extra environment of every node, on top of test_env() and the cluster's own settings
     * (short node timeouts, say). */
    env_map env;
    /** Extra environment of single nodes, by index; wins over `env`. */
    std::map<std::size_t, env_map> node_env;
    /** Start without RELAY_REDIS_URL (the single-process relay, for comparisons). */
    bool without_redis = false;
};

/** `nodes` nodes, each with `env` on top of the defaults. */
cluster_options cluster_of(std::size_t nodes, env_map env = {});

/** The env every node gets unless the test says otherwise: short heartbeat and node timeout
 * (RELAY_NODE_HEARTBEAT_MS, RELAY_NODE_TIMEOUT_MS), so a killed node's robots go offline in about
 * a second instead of the default bound. */
env_map fast_cluster_env();

/** A user and the device they own, plus one user of each kind of access to it. */
struct household {
    account owner;
    account operator_user; ///< shared with role "operator": may send commands
    account viewer;        ///< shared with role "viewer": sees events, may not command
    account stranger;      ///< no access at all
    device_credentials dev;
};

class cluster_harness {
public:
    /** Starts Redis, then the nodes one after the other (node 0 migrates the shared database
     * first). Throws std::runtime_error with a node's output when one does not come up. */
    explicit cluster_harness(cluster_options options = {});
    /** Stops the nodes (SIGKILL: their shutdown is of no interest), then Redis. */
    ~cluster_harness();
    cluster_harness(cluster_harness const&) = delete;
    cluster_harness& operator=(cluster_harness const&) = delete;

    std::size_t size() const noexcept { return nodes_.size(); }

    /** Node i's relayd; fails the test (REQUIRE) when it is not running. */
    relayd_process& node(std::size_t i);
    /** Node i's port, the same for its whole life (also while killed). */
    std::uint16_t port(std::size_t i) const;
    /** Node i's RELAY_NODE_ID: "node-<i>". */
    std::string node_id(std::size_t i) const;
    bool running(std::size_t i) const;

    /** Kills node i with SIGKILL: no goodbye to Redis, its robots' sockets just break. */
    void kill_node(std::size_t i);
    /** Freezes node i with SIGSTOP: its sockets stay open and nothing is answered (a hung
     * node); kill_node ends it. */
    void pause_node(std::size_t i);
    /** Stops node i with SIGTERM and waits (a clean shutdown). */
    void stop_node(std::size_t i);
    /** Starts node i again on its port with its id and environment (plus `extra_env`). */
    void start_node(std::size_t i, env_map extra_env = {});

    /** The Redis server, to kill, start again (same port), pause and resume it. */
    redis::redis_server& redis();
    /** RELAY_REDIS_URL of every node. */
    std::string const& redis_url() const noexcept { return redis_url_; }
    /** The SQLite file all nodes share. */
    std::string const& database_path() const noexcept { return database_path_; }

    // --- accounts, devices and clients, through node i's public API -------------------------
    account make_account(std::size_t on = 0, std::string const& prefix = "user");
    device_credentials make_device(account const& owner, std::size_t on = 0, std::string const& device_id = {});
    void share(account const& owner, std::string const& device_id, account const& with, std::string const& role,
               std::size_t on = 0);
    /** An owner with a device, and an operator, a viewer and a stranger (made on node `on`). */
    household make_household(std::size_t on = 0);

    /** An app authenticated on node i (auth_ok stored in *auth_ok when given). */
    std::unique_ptr<ws_client> connect_app(std::size_t i, account const& user, boost::json::value* auth_ok = nullptr);
    /** A robot authenticated on node i (auth_ok read). */
    std::unique_ptr<ws_client> connect_robot(std::size_t i, device_credentials const& dev);

    /** An app and a robot on (usually different) nodes. */
    struct app_and_robot {
        std::unique_ptr<ws_client> app;
        std::unique_ptr<ws_client> robot;
    };
    /** `user`'s app on node `app_node`, then `dev`'s robot on node `robot_node`, once the app has
     * heard robot_connected (from then on its node has the device's events). */
    app_and_robot connect_pair(std::size_t app_node, account const& user, std::size_t robot_node,
                               device_credentials const& dev);

    // --- waiting for the cluster to agree ---------------------------------------------------
    /** Whether GET /api/devices on node i, asked as `user`, shows `device_id` online. */
    bool online_on(std::size_t i, account const& user, std::string const& device_id);
    /** Polls online_on until it is `online` or `limit` passes; true when it got there. */
    bool wait_online(std::size_t i, account const& user, std::string const& device_id, bool online,
                     std::chrono::milliseconds limit = std::chrono::seconds(10));

    /** GET /health on node i: its status and body. */
    http_reply health(std::size_t i);
    /** Polls /health on node i until its status is `status` or `limit` passes (the checks are
     * cached up to a second); the last answer. */
    http_reply wait_health(std::size_t i, unsigned status, std::chrono::milliseconds limit = std::chrono::seconds(10));

private:
    env_map node_environment(std::size_t i) const;

    cluster_options options_;
    temp_dir dir_;
    std::string database_path_;
    std::unique_ptr<redis::redis_server> redis_;
    std::string redis_url_;
    std::string jwt_secret_;
    std::string secret_key_;
    std::vector<std::uint16_t> ports_;
    std::vector<std::unique_ptr<relayd_process>> nodes_;
};

/**
 * Reads `client` until a message `wanted` accepts, and returns it; null when none comes within
 * `limit`. The messages read before it are added to *skipped when given.
 */
boost::json::value read_until(ws_client& client, std::function<bool(boost::json::object const&)> const& wanted,
                              std::chrono::milliseconds limit = std::chrono::seconds(10),
                              std::vector<boost::json::value>* skipped = nullptr);

/** Whether one of `messages` has "type" `type`. */
bool contains_type(std::vector<boost::json::value> const& messages, std::string_view type);

/** Reads `client` until an `error` whose `ref` is `ref` (read_until). */
boost::json::value expect_error_for(ws_client& client, std::string const& ref,
                                    std::chrono::milliseconds limit = std::chrono::seconds(10));

/**
 * Reads `client` until an event named `name` (for `device_id` when given) arrives; the others
 * read meanwhile are kept in *skipped when given. Null when none comes within `limit`.
 */
boost::json::value expect_event(ws_client& client, std::string const& name, std::string const& device_id = {},
                                std::chrono::milliseconds limit = std::chrono::seconds(10),
                                std::vector<boost::json::value>* skipped = nullptr);

/**
 * nginx on a free loopback port in front of some nodes (plain HTTP, WebSockets passed through
 * as deploy/nginx/relay.conf does): a client given its URL reaches whichever node is alive, so a
 * robot whose node was killed reconnects to another. Stopped by its destructor.
 */
class nginx_front {
public:
    /** Round robin over `ports`; `backup_ports` only while every one of `ports` is down (so a
     * test knows where a client lands first). Fails the test (REQUIRE) when nginx is not
     * installed or does not come up. */
    explicit nginx_front(std::vector<std::uint16_t> const& ports, std::vector<std::uint16_t> const& backup_ports = {});
    ~nginx_front();
    nginx_front(nginx_front const&) = delete;
    nginx_front& operator=(nginx_front const&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /** ws://127.0.0.1:<port> */
    std::string url() const;
    std::string log() const;

private:
    temp_dir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<support::child_process> process_;
};

} // namespace relay::test
