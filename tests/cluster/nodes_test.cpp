// Several relayd nodes on one real redis-server, sharing one SQLite file and the same secrets:
// presence, online, replacement across nodes (4409), a killed node's robots going offline within
// the stated bound, access changes applied on every node, and /health while Redis is away.
#include "cluster/eventually.hpp"
#include "redis/redis_server.hpp"
#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>
#include <thread>

namespace json = boost::json;
using namespace relay::test;
using relay::test::redis::redis_server;

namespace {

// Small heartbeat and timeout so a dead node is found quickly: dead after 1 s of silence, found
// by the next reaper run (0.2 s later), robots offline within ~1.2 s (docs/scaling.md).
constexpr auto heartbeat_ms = "200";
constexpr auto node_timeout_ms = "1000";

/** Nodes of one relay: a private redis-server, a shared database file and the same secrets. */
struct nodes {
    explicit nodes(std::size_t count) { start(count); }

    void start(std::size_t count)
    {
        for (std::size_t i = 0; i < count; ++i)
            node.push_back(std::make_unique<relayd_process>(env_of(i)));
    }

    std::map<std::string, std::string> env_of(std::size_t i)
    {
        return test_env({{"RELAY_DATABASE", dir.path() + "/relay.db"},
                         {"RELAY_JWT_SECRET", "a-shared-jwt-secret-of-at-least-32-bytes!"},
                         {"RELAY_SECRET_KEY", std::string(64, 'a')},
                         {"RELAY_REDIS_URL", redis.url()},
                         {"RELAY_NODE_ID", "node-" + std::to_string(i)},
                         {"RELAY_NODE_HEARTBEAT_MS", heartbeat_ms},
                         {"RELAY_NODE_TIMEOUT_MS", node_timeout_ms}});
    }

    std::uint16_t port(std::size_t i) const { return node[i]->port(); }

    redis_server redis;
    temp_dir dir;
    std::vector<std::unique_ptr<relayd_process>> node;
};

bool online_in(json::value const& devices, std::string const& device_id)
{
    for (auto const& d : devices.as_array())
        if (d.at("device_id").as_string() == device_id)
            return d.at("online").as_bool();
    FAIL("device not listed: " << device_id);
    return false;
}

/** GET /api/devices on a node: whether it shows the device online. */
bool listed_online(std::uint16_t port, account const& user, std::string const& device_id)
{
    auto r = http_get(port, "/api/devices", user.access_token);
    REQUIRE(r.status == 200);
    return online_in(r.json(), device_id);
}

std::string presence_of(json::value const& m)
{
    return std::string(m.at("event").as_string());
}

/** Two nodes, an owner's device whose robot is on node 0 and the owner's app on node 1 (which has
 * seen robot_connected). */
struct robot_here_app_there {
    robot_here_app_there()
    {
        owner = make_account(c.port(0), "owner");
        dev = make_device(c.port(0), owner);
        app = connect_app(c.port(1), owner);
        robot = connect_robot(c.port(0), dev);
        auto connected = app->expect("event");
        REQUIRE(connected.is_object());
        REQUIRE(presence_of(connected) == "robot_connected");
    }
    nodes c{2};
    account owner;
    device_credentials dev;
    std::unique_ptr<ws_client> app;
    std::unique_ptr<ws_client> robot;
};

/** The robot's event `n` (no id), as the robot sends it. */
json::object robot_event(int n)
{
    return json::object{{"type", "event"}, {"event", "tick"}, {"data", json::object{{"n", n}}}};
}

} // namespace

TEST_CASE("nodes: a robot on one node is online and present for an app on another")
{
    nodes c(2);
    auto owner = make_account(c.port(0), "owner");
    auto dev = make_device(c.port(0), owner);

    // The app on node 1 connects first, so it hears the robot arrive on node 0.
    json::value ok;
    auto app = connect_app(c.port(1), owner, &ok);
    CHECK_FALSE(online_in(ok.at("devices"), dev.device_id));

    auto robot = connect_robot(c.port(0), dev);
    auto connected = app->expect("event");
    REQUIRE(connected.is_object());
    CHECK(presence_of(connected) == "robot_connected");
    CHECK(listed_online(c.port(1), owner, dev.device_id));

    json::value ok2;
    auto app2 = connect_app(c.port(1), owner, &ok2);
    CHECK(online_in(ok2.at("devices"), dev.device_id));

    // Events cross too; then the robot leaves and every node says so.
    robot->send(robot_event(1));
    auto event = app->expect("event");
    REQUIRE(event.is_object());
    CHECK(presence_of(event) == "tick");
    robot->close();
    auto gone = app->expect("event");
    REQUIRE(gone.is_object());
    CHECK(presence_of(gone) == "robot_disconnected");
    CHECK_FALSE(listed_online(c.port(1), owner, dev.device_id));
    CHECK_FALSE(listed_online(c.port(0), owner, dev.device_id));
}

TEST_CASE("nodes: the same robot connecting on another node closes the old connection with 4409, quietly")
{
    robot_here_app_there s;
    auto& [c, owner, dev, app, old_robot] = s;

    auto new_robot = connect_robot(c.port(1), dev);
    auto closed_at = std::chrono::steady_clock::now();
    CHECK(old_robot->wait_closed(std::chrono::seconds(1)) == 4409);
    CHECK(std::chrono::steady_clock::now() - closed_at < std::chrono::seconds(1));

    // Barrier: the new connection's event reaches the app after anything the old one's end
    // could have announced (node 0 has released it: its robots_online is back to 0).
    CHECK(eventually([&] {
        return http_get(c.port(0), "/stats").json().at("robots_online").as_int64() == 0;
    }));
    new_robot->send(robot_event(7));
    auto event = app->expect("event");
    REQUIRE(event.is_object());
    CHECK(presence_of(event) == "tick");
    for (auto const& m : app->skipped())
        CHECK(m.at("type").as_string() != "event"); // neither robot_disconnected nor a second robot_connected
    CHECK(listed_online(c.port(0), owner, dev.device_id));
}

TEST_CASE("nodes: a killed node's robots go offline everywhere within the stated bound")
{
    robot_here_app_there s;
    auto& [c, owner, dev, app, robot] = s;
    REQUIRE(listed_online(c.port(1), owner, dev.device_id));

    auto killed_at = std::chrono::steady_clock::now();
    c.node[0]->stop(SIGKILL);
    auto gone = app->expect("event", std::chrono::seconds(10));
    auto took = std::chrono::steady_clock::now() - killed_at;
    REQUIRE(gone.is_object());
    CHECK(presence_of(gone) == "robot_disconnected");
    MESSAGE("robot_disconnected after node kill: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    // node_timeout (1 s) + one reaper period (0.2 s) + a heartbeat's slack.
    CHECK(took < std::chrono::milliseconds(2500));
    CHECK_FALSE(listed_online(c.port(1), owner, dev.device_id));
}

TEST_CASE("nodes: a clean stop releases the node's robots at once")
{
    robot_here_app_there s;
    auto& [c, owner, dev, app, robot] = s;
    c.node[0]->stop(SIGTERM);
    auto gone = app->expect("event");
    REQUIRE(gone.is_object());
    CHECK(presence_of(gone) == "robot_disconnected");
    CHECK_FALSE(listed_online(c.port(1), owner, dev.device_id));
}

TEST_CASE("nodes: access changes on one node apply to live connections on every node")
{
    nodes c(2);
    auto owner = make_account(c.port(0), "owner");
    auto member = make_account(c.port(0), "member");
    auto dev = make_device(c.port(0), owner);
    share_device(c.port(0), owner, dev.device_id, member, "viewer");

    SUBCASE("unshare: the member's app elsewhere closes 4403")
    {
        auto app = connect_app(c.port(1), member);
        CHECK(http_delete(c.port(0), "/api/devices/" + dev.device_id + "/members/" + member.user_id,
                          owner.access_token)
                  .status == 204);
        CHECK(app->wait_closed() == 4403);
    }
    SUBCASE("logout: the login's app elsewhere closes 4401, and its token is refused there")
    {
        auto app = connect_app(c.port(1), member);
        CHECK(http_json(c.port(0), "POST", "/api/auth/logout", json::object{{"refresh_token", member.refresh_token}})
                  .status == 204);
        CHECK(app->wait_closed() == 4401);
        CHECK(http_get(c.port(1), "/api/devices", member.access_token).status == 401);
    }
    SUBCASE("refresh-token reuse ends every login: the user's app elsewhere closes 4401")
    {
        auto app = connect_app(c.port(1), member);
        json::object body{{"refresh_token", member.refresh_token}};
        CHECK(http_json(c.port(0), "POST", "/api/auth/refresh", body).status == 200);
        CHECK(http_json(c.port(0), "POST", "/api/auth/refresh", body).status == 401); // reused
        CHECK(app->wait_closed() == 4401);
    }
    SUBCASE("device deleted: its robot on another node is closed, apps there lose it")
    {
        auto robot = connect_robot(c.port(1), dev);
        auto app = connect_app(c.port(1), member);
        CHECK(http_delete(c.port(0), "/api/devices/" + dev.device_id, owner.access_token).status == 204);
        CHECK(robot->wait_closed() == 4403);
        CHECK(app->wait_closed() == 4403);
    }
    SUBCASE("secret rotated: the robot on another node is closed 4401")
    {
        auto robot = connect_robot(c.port(1), dev);
        CHECK(http_json(c.port(0), "POST", "/api/devices/" + dev.device_id + "/secret", json::object{},
                        owner.access_token)
                  .status == 200);
        CHECK(robot->wait_closed() == 4401);
    }
}

TEST_CASE("nodes: /health is degraded with a redis check while Redis is away, and ok once it is back")
{
    nodes c(1);
    CHECK(http_get(c.port(0), "/health").status == 200);
    auto stats = http_get(c.port(0), "/stats").json();
    CHECK(stats.at("node_id").as_string() == "node-0");
    CHECK(stats.at("redis").at("up").as_bool());
    CHECK(stats.at("redis").at("subscriptions").as_int64() >= 2); // its own channel and relay:control

    c.redis.kill();
    CHECK(eventually([&] {
        auto r = http_get(c.port(0), "/health");
        if (r.status != 503)
            return false;
        auto body = r.json();
        return body.at("status").as_string() == "degraded" && body.at("checks").as_object().contains("redis");
    }));
    // Same-node traffic goes on meanwhile.
    auto owner = make_account(c.port(0), "owner");
    auto dev = make_device(c.port(0), owner);
    auto app = connect_app(c.port(0), owner);
    auto robot = connect_robot(c.port(0), dev);

    c.redis.start();
    CHECK(eventually([&] { return http_get(c.port(0), "/health").status == 200; }));
    // The robot that connected while Redis was away is claimed once it is back.
    CHECK(eventually([&] { return listed_online(c.port(0), owner, dev.device_id); }));
    CHECK(c.redis.command({"EXISTS", "relay:{" + dev.device_id + "}:owner"}).integer == 1);
}

TEST_CASE("nodes: relayd refuses bad cluster settings in one line, never showing the Redis password")
{
    auto refused = [](std::map<std::string, std::string> env, std::string expect) {
        auto [st, out] = run_relayd({}, env);
        CAPTURE(out);
        CHECK(st == 2);
        CHECK(out.find(expect) != std::string::npos);
        CHECK(std::count(out.begin(), out.end(), '\n') == 1);
        CHECK(out.find("hunter2") == std::string::npos);
    };
    refused({{"RELAY_REDIS_URL", "http://:hunter2@127.0.0.1:6379"}}, "invalid RELAY_REDIS_URL (from environment)");
    refused({{"RELAY_REDIS_URL", "redis://:hunter2@127.0.0.1:notaport"}}, "invalid RELAY_REDIS_URL (from environment)");
    refused({{"RELAY_NODE_ID", "two words"}}, "invalid RELAY_NODE_ID (from environment)");
    refused({{"RELAY_NODE_HEARTBEAT_MS", "1000"}, {"RELAY_NODE_TIMEOUT_MS", "1500"}},
            "RELAY_NODE_TIMEOUT_MS must be at least twice RELAY_NODE_HEARTBEAT_MS");
}
