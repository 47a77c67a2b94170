// The multi-node harness itself (tests/support/cluster_harness.hpp): what every scenario takes
// for granted — the nodes share one database and one token key, a node killed with SIGKILL comes
// back on its port, Redis can be taken away and brought back, nginx reaches whichever node lives.
#include "redis/redis_server.hpp"
#include "support/barrier.hpp"
#include "support/cluster_harness.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;

TEST_CASE("cluster harness: three nodes share accounts, devices and tokens; a killed node comes back on its port")
{
    cluster_harness c;
    REQUIRE(c.size() == 3);
    CHECK(c.port(0) != c.port(1));
    CHECK(c.port(1) != c.port(2));
    CHECK(c.node_id(2) == "node-2");

    // Made on node 0, known to node 2: one database, one token key.
    auto h = c.make_household(0);
    auto list = http_get(c.port(2), "/api/devices", h.viewer.access_token);
    REQUIRE(list.status == 200);
    REQUIRE(list.json().as_array().size() == 1);
    CHECK(list.json().as_array()[0].at("role") == "viewer");
    json::value ok;
    auto app = c.connect_app(1, h.owner, &ok);
    CHECK(ok.at("devices").as_array().size() == 1);
    auto robot = c.connect_robot(2, h.dev);
    CHECK(c.wait_online(2, h.owner, h.dev.device_id, true));

    auto const port = c.port(1);
    c.kill_node(1);
    CHECK_FALSE(c.running(1));
    app->wait_closed(std::chrono::seconds(10));
    CHECK_FALSE(app->is_open());
    c.start_node(1);
    CHECK(c.running(1));
    CHECK(c.port(1) == port);
    CHECK(c.health(1).status == 200);
    auto again = c.connect_app(1, h.owner);
    round_trip(*again);
}

TEST_CASE("cluster harness: Redis killed and started again on its port; nginx in front reaches a live node")
{
    cluster_harness c(cluster_of(2));
    auto const url = c.redis_url();
    CHECK(url.find("redis://127.0.0.1:") == 0);
    c.redis().kill();
    CHECK_FALSE(c.redis().running());
    c.redis().start();
    CHECK(c.redis_url() == url);
    CHECK(c.redis().command({"PING"}).str == "PONG");

    nginx_front front({c.port(0), c.port(1)});
    auto owner = c.make_account(0);
    CHECK(http_get(front.port(), "/api/devices", owner.access_token).status == 200);
    c.kill_node(0);
    // The dead node is skipped: every request still reaches the live one.
    for (int i = 0; i < 4; ++i)
        CHECK(http_get(front.port(), "/api/devices", owner.access_token).status == 200);
}
