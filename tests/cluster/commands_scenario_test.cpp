// Contract sections 3 and 7 across nodes: a command from an app on one node reaches the robot on
// another, is acknowledged, and its result goes back to the sending app only; the errors a
// command can meet (DEVICE_OFFLINE, FORBIDDEN, DEVICE_NOT_FOUND) are the same as on one node.
#include "support/barrier.hpp"
#include "support/cluster_harness.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

json::object command(std::string const& device_id, std::string const& id, std::string const& name = "dock",
                     json::value data = json::object{{"speed", 2}})
{
    return {{"type", "command"}, {"device_id", device_id}, {"id", id}, {"command", name}, {"data", std::move(data)}};
}

/** Sends command `id` from `app` and checks that it is refused with `code`. */
void command_refused(ws_client& app, std::string const& device_id, std::string const& id, char const* code)
{
    app.send(command(device_id, id));
    auto e = expect_error_for(app, id);
    REQUIRE_MESSAGE(e.is_object(), "no error for command " << id);
    CHECK(e.at("code") == code);
}

} // namespace

TEST_CASE("cluster commands: command, ack and command_result between nodes, the result to the sender only")
{
    cluster_harness c;
    auto h = c.make_household();
    auto sender = c.connect_app(1, h.operator_user);
    auto other_app = c.connect_app(2, h.owner); // the owner, on a third node: sees events, not results
    auto robot = c.connect_robot(0, h.dev);
    REQUIRE(expect_event(*other_app, "robot_connected", h.dev.device_id).is_object());

    sender->send(command(h.dev.device_id, "c1"));
    auto forwarded = robot->expect("command", 10s);
    REQUIRE(forwarded.is_object());
    CHECK(forwarded.at("id") == "c1");
    CHECK(forwarded.at("from_user") == h.operator_user.user_id.c_str());
    CHECK(forwarded.at("command") == "dock");
    CHECK(forwarded.at("data") == json::object{{"speed", 2}});
    CHECK_FALSE(forwarded.as_object().contains("device_id"));

    auto ack = sender->expect("ack", 10s);
    REQUIRE(ack.is_object());
    CHECK(ack.at("ref") == "c1");
    CHECK(ack.at("device_id") == h.dev.device_id.c_str());

    robot->send(json::object{{"type", "command_result"}, {"id", "c1"}, {"ok", true}, {"data", {{"docked", true}}}});
    // Then an event: it travels to node 2 after the result, so a result wrongly sent there too
    // would come first (see the barrier note in cluster_harness.hpp).
    robot->send(json::object{{"type", "event"}, {"event", "after_result"}});
    auto result = sender->expect("command_result", 10s);
    REQUIRE(result.is_object());
    CHECK(result.at("id") == "c1");
    CHECK(result.at("device_id") == h.dev.device_id.c_str());
    CHECK(result.at("ok") == true);
    CHECK(result.at("data").at("docked") == true);

    std::vector<json::value> before;
    REQUIRE(expect_event(*other_app, "after_result", h.dev.device_id, 10s, &before).is_object());
    CHECK_FALSE(contains_type(before, "command_result"));
    CHECK_FALSE(contains_type(before, "ack"));
    expect_nothing_before_pong(*other_app, "command_result");

    // A command without data reaches the robot with data {} (as on one node).
    sender->send(json::object{{"type", "command"}, {"device_id", h.dev.device_id}, {"id", "c2"}, {"command", "stop"}});
    auto bare = robot->expect("command", 10s);
    REQUIRE(bare.is_object());
    CHECK(bare.at("data") == json::object{});
    CHECK(sender->expect("ack", 10s).at("ref") == "c2");
}

TEST_CASE("cluster commands: two apps on two nodes using the same command id each get their own result")
{
    cluster_harness c;
    auto h = c.make_household();
    auto owner_1 = c.connect_app(1, h.owner);
    auto operator_2 = c.connect_app(2, h.operator_user);
    auto robot = c.connect_robot(0, h.dev);
    REQUIRE(expect_event(*owner_1, "robot_connected", h.dev.device_id).is_object());

    owner_1->send(command(h.dev.device_id, "same", "first"));
    auto one = robot->expect("command", 10s);
    REQUIRE(one.is_object());
    REQUIRE(owner_1->expect("ack", 10s).is_object());
    robot->send(json::object{{"type", "command_result"}, {"id", "same"}, {"ok", true}, {"data", "for owner"}});
    auto r1 = owner_1->expect("command_result", 10s);
    REQUIRE(r1.is_object());
    CHECK(r1.at("data") == "for owner");

    operator_2->send(command(h.dev.device_id, "same", "second"));
    auto two = robot->expect("command", 10s);
    REQUIRE(two.is_object());
    CHECK(two.at("command") == "second");
    REQUIRE(operator_2->expect("ack", 10s).is_object());
    robot->send(json::object{{"type", "command_result"}, {"id", "same"}, {"ok", false}, {"error", {{"code", "BUSY"}}}});
    auto r2 = operator_2->expect("command_result", 10s);
    REQUIRE(r2.is_object());
    CHECK(r2.at("ok") == false);
    expect_nothing_before_pong(*owner_1, "command_result");
}

TEST_CASE("cluster commands: DEVICE_OFFLINE, FORBIDDEN for a viewer, DEVICE_NOT_FOUND for a stranger")
{
    cluster_harness c;
    auto h = c.make_household();
    auto operator_1 = c.connect_app(1, h.operator_user);
    auto viewer_2 = c.connect_app(2, h.viewer);
    auto stranger_2 = c.connect_app(2, h.stranger);
    auto operator_2 = c.connect_app(2, h.operator_user);

    SUBCASE("no robot on any node: DEVICE_OFFLINE")
    {
        command_refused(*operator_1, h.dev.device_id, "off1", "DEVICE_OFFLINE");
    }
    SUBCASE("the robot left its node: DEVICE_OFFLINE again")
    {
        auto robot = c.connect_robot(0, h.dev);
        REQUIRE(expect_event(*operator_1, "robot_connected", h.dev.device_id).is_object());
        robot->close();
        REQUIRE(expect_event(*operator_1, "robot_disconnected", h.dev.device_id).is_object());
        command_refused(*operator_1, h.dev.device_id, "off2", "DEVICE_OFFLINE");
    }
    SUBCASE("a viewer may not command, a stranger does not see the device; the robot hears neither")
    {
        auto robot = c.connect_robot(0, h.dev);
        REQUIRE(expect_event(*viewer_2, "robot_connected", h.dev.device_id).is_object());
        command_refused(*viewer_2, h.dev.device_id, "v1", "FORBIDDEN");
        command_refused(*stranger_2, h.dev.device_id, "s1", "DEVICE_NOT_FOUND");

        // The operator's command from the same node comes after them on the way to node 0: the
        // robot gets it, and nothing before it.
        operator_2->send(command(h.dev.device_id, "after"));
        auto got = robot->expect("command", 10s);
        REQUIRE(got.is_object());
        CHECK(got.at("id") == "after");
        CHECK_FALSE(contains_type(robot->skipped(), "command"));
    }
    SUBCASE("an unknown device is DEVICE_NOT_FOUND on every node")
    {
        command_refused(*operator_2, "no-such-robot", "u1", "DEVICE_NOT_FOUND");
    }
}
