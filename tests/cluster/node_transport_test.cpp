// The cluster part on a real redis-server (librelay/src/cluster/redis_cluster.hpp), two nodes in
// one process: node messages, routing to a robot's node, broadcasts, ownership and replacement,
// node_down on a clean stop and from the reaper, NODE_UNREACHABLE while Redis is away.
#include "cluster/redis_client.hpp"
#include "cluster/eventually.hpp"
#include "cluster/redis_cluster.hpp"
#include "redis/redis_server.hpp"

#include <relay/protocol/errc.hpp>
#include <relay/routing/hub.hpp>
#include <relay/routing/in_process_broker.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace {

using namespace std::chrono_literals;
using relay::cluster::redis_client;
using relay::cluster::redis_settings;
using relay::test::eventually;
using relay::test::redis::redis_server;

/** A robot connection that remembers how it was closed. */
struct fake_robot : relay::routing::robot_link {
    void send(std::shared_ptr<std::string const>) override {}
    void close(relay::protocol::close_code code) override { closed = static_cast<int>(code); }
    std::atomic<int> closed{0};
};

/** An app that remembers the presence frames it received. */
struct fake_app : relay::routing::subscriber {
    void deliver(std::string const&, relay::routing::channel_message const& m) override
    {
        std::lock_guard lock(mutex);
        frames.push_back(*m.frame);
    }
    std::size_t count_of(std::string_view text)
    {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (auto const& f : frames)
            n += f.find(text) != std::string::npos;
        return n;
    }
    std::mutex mutex;
    std::vector<std::string> frames;
};

/** One node: its own Redis client, in-process broker and hub, and the cluster part on them. */
struct node {
    node(redis_server const& redis, std::string id)
    {
        std::string why;
        auto where = relay::cluster::parse_redis_url(redis.url(), &why);
        REQUIRE_MESSAGE(where.has_value(), why);
        redis_settings s;
        s.where = *where;
        s.node_id = std::move(id);
        s.heartbeat = 100ms;
        s.node_timeout = 500ms;
        s.reconnect_min = 5ms;
        s.reconnect_max = 50ms;
        s.probe_interval = 50ms;
        s.probe_timeout = 500ms;
        auto log = std::make_shared<relay::telemetry::logger>(relay::telemetry::log_level::error);
        auto metrics = std::make_shared<relay::telemetry::registry>();
        client = std::make_shared<redis_client>(s, log, metrics);
        cluster = relay::cluster::make_redis_cluster(client, s, log, metrics);
    }
    ~node() { cluster->stop(); }

    void start()
    {
        cluster->start(hub);
        REQUIRE(eventually([&] { return client->up(); }));
    }

    relay::routing::in_process_broker broker{relay::routing::replay_limits{}};
    relay::routing::hub hub{broker};
    std::shared_ptr<redis_client> client;
    std::shared_ptr<relay::routing::cluster> cluster;
};

struct routed {
    boost::system::error_code ec;
    std::string node;
};

routed send_to_robot_node(node& from, std::string const& device, std::string payload)
{
    auto answer = std::make_shared<std::promise<routed>>();
    auto got = answer->get_future();
    from.cluster->send_to_robot_node(device, "probe", std::move(payload),
                                     [answer](boost::system::error_code ec, std::string const& n) {
                                         answer->set_value({ec, n});
                                     });
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    return got.get();
}

bool claim(node& n, std::string const& device, std::shared_ptr<fake_robot> const& robot)
{
    auto answer = std::make_shared<std::promise<bool>>();
    auto got = answer->get_future();
    n.hub.attach_robot(device, robot);
    n.cluster->claim_robot(device, robot, [answer](bool came_online) { answer->set_value(came_online); });
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    return got.get();
}

} // namespace

TEST_CASE("cluster: node messages, routing to the robot's node and broadcasts")
{
    redis_server redis;
    node a(redis, "node-a"), b(redis, "node-b");
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> at_b, broadcasts_at_a, broadcasts_at_b;
    b.cluster->on_node_message("probe", [&](std::string_view from, std::string_view payload) {
        std::lock_guard lock(mutex);
        at_b.emplace_back(from, payload);
    });
    a.cluster->on_broadcast("news", [&](std::string_view from, std::string_view payload) {
        std::lock_guard lock(mutex);
        broadcasts_at_a.emplace_back(from, payload);
    });
    b.cluster->on_broadcast("news", [&](std::string_view from, std::string_view payload) {
        std::lock_guard lock(mutex);
        broadcasts_at_b.emplace_back(from, payload);
    });
    a.start();
    b.start();
    auto count = [&](auto const& v) {
        std::lock_guard lock(mutex);
        return v.size();
    };

    std::string const body("line one\nline two \0 with a NUL", 30);
    a.cluster->send_to_node("node-b", "probe", body);
    REQUIRE(eventually([&] { return count(at_b) == 1; }));
    CHECK(at_b[0].first == "node-a");
    CHECK(at_b[0].second == body);

    // No owner: DEVICE_OFFLINE, nothing sent.
    auto offline = send_to_robot_node(a, "dev-1", "x");
    CHECK(offline.ec == relay::errc::device_offline);

    // Owned by b: sent to b in the same step, b named in the answer.
    auto robot = std::make_shared<fake_robot>();
    CHECK(claim(b, "dev-1", robot));
    auto sent = send_to_robot_node(a, "dev-1", "to the robot");
    CHECK_FALSE(sent.ec);
    CHECK(sent.node == "node-b");
    REQUIRE(eventually([&] { return count(at_b) == 2; }));
    CHECK(at_b[1].second == "to the robot");

    // A broadcast reaches the others, never its sender: b's broadcast after a's is the barrier.
    a.cluster->broadcast("news", "from a");
    b.cluster->broadcast("news", "from b");
    REQUIRE(eventually([&] { return count(broadcasts_at_a) == 1 && count(broadcasts_at_b) == 1; }));
    CHECK(broadcasts_at_a[0].second == "from b");
    CHECK(broadcasts_at_b[0] == std::make_pair(std::string("node-a"), std::string("from a")));

    // online: one round trip for several devices.
    auto online = std::make_shared<std::promise<std::vector<bool>>>();
    auto got = online->get_future();
    a.cluster->online({"dev-1", "dev-2"}, [online](boost::system::error_code ec, std::vector<bool> v) {
        CHECK_FALSE(ec);
        online->set_value(std::move(v));
    });
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    CHECK(got.get() == std::vector<bool>{true, false});
}

TEST_CASE("cluster: a claim on another node replaces the robot there (4409) and the release is quiet")
{
    redis_server redis;
    node a(redis, "node-a"), b(redis, "node-b");
    auto app = std::make_shared<fake_app>();
    a.start();
    b.start();
    a.broker.subscribe("dev-1", app);

    auto first = std::make_shared<fake_robot>();
    CHECK(claim(a, "dev-1", first));
    REQUIRE(eventually([&] { return app->count_of("robot_connected") == 1; }));

    auto second = std::make_shared<fake_robot>();
    CHECK_FALSE(claim(b, "dev-1", second)); // it was online: no robot_connected
    REQUIRE(eventually([&] { return first->closed == 4409; }));

    // The replaced connection ends on a: its release finds b's record and leaves it.
    auto released = std::make_shared<std::promise<bool>>();
    auto got = released->get_future();
    bool const current = a.hub.detach_robot("dev-1", first.get());
    a.cluster->release_robot("dev-1", first.get(), current, [released](bool went) { released->set_value(went); });
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(got.get());
    CHECK(redis.command({"GET", "relay:{dev-1}:owner"}).str.rfind("node-b ", 0) == 0);
    CHECK(app->count_of("robot_disconnected") == 0);
}

TEST_CASE("cluster: node_down on a clean stop and from the reaper; NODE_UNREACHABLE while Redis is away")
{
    redis_server redis;
    node a(redis, "node-a");
    auto app = std::make_shared<fake_app>();
    std::mutex mutex;
    std::vector<std::string> down;
    a.cluster->on_node_down([&](std::string const& n) {
        std::lock_guard lock(mutex);
        down.push_back(n);
    });
    auto is_down = [&](std::string const& n) {
        std::lock_guard lock(mutex);
        return std::count(down.begin(), down.end(), n) == 1;
    };
    a.start();
    a.broker.subscribe("ghost-dev", app);

    {
        node b(redis, "node-b");
        b.start();
        REQUIRE(eventually([&] { return redis.command({"ZSCORE", "relay:nodes", "node-b"}).type !=
                                        relay::cluster::redis_reply::kind::nil; }));
        b.cluster->stop();
    }
    CHECK(eventually([&] { return is_down("node-b"); }));

    // A node whose heartbeat stopped long ago, with a robot: reaped by a, its robot announced
    // offline once, node_down once.
    redis.command({"ZADD", "relay:nodes", "1", "ghost"});
    redis.command({"SADD", "relay:node:ghost:robots", "ghost-dev"});
    redis.command({"SET", "relay:{ghost-dev}:owner", "ghost 1 x.1"});
    CHECK(eventually([&] { return is_down("ghost"); }));
    CHECK(eventually([&] { return app->count_of("robot_disconnected") == 1; }));
    CHECK(redis.command({"EXISTS", "relay:{ghost-dev}:owner"}).integer == 0);

    redis.kill();
    REQUIRE(eventually([&] { return !a.client->up(); }));
    auto answer = send_to_robot_node(a, "dev-1", "x");
    CHECK(answer.ec == relay::errc::node_unreachable);
}
