// DELETE /api/account across nodes (contract section 8, "Account"): deleting an account on one
// node closes the user's apps on the others with 4401, and its robot on another with 4403.
#include "support/cluster_harness.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("cluster account: deleting an account on one node closes its apps and robots on the others")
{
    cluster_harness c;
    auto h = c.make_household();
    auto owner_1 = c.connect_app(1, h.owner);
    auto owner_2 = c.connect_app(2, h.owner);
    auto viewer = c.connect_app(2, h.viewer);
    auto robot = c.connect_robot(1, h.dev);
    REQUIRE(expect_event(*viewer, "robot_connected", h.dev.device_id).is_object());

    // The password fixtures.cpp registers every account with.
    auto r = http_call(c.port(0), "DELETE", "/api/account", R"({"password":"correct horse battery"})",
                       {{"Authorization", "Bearer " + h.owner.access_token}});
    CAPTURE(r.body);
    REQUIRE(r.status == 204);
    CHECK(owner_1->wait_closed(10s) == 4401);
    CHECK(owner_2->wait_closed(10s) == 4401);
    CHECK(robot->wait_closed(10s) == 4403);
    // The viewer lost the device on its node too, and the token is refused on every node.
    for (std::size_t i = 0; i < c.size(); ++i) {
        CAPTURE(i);
        CHECK(http_get(c.port(i), "/api/devices", h.owner.access_token).status == 401);
        auto listed = http_get(c.port(i), "/api/devices", h.viewer.access_token);
        REQUIRE(listed.status == 200);
        CHECK(listed.json().as_array().empty());
    }
}
