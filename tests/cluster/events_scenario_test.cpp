// Contract section 3 (events, presence, resume, ping) with the robot and its apps on DIFFERENT
// relayd nodes sharing one Redis: every app with access sees every event on every node, in
// order and numbered; users without access see nothing; resume works on a node the app never
// used before.
#include "support/barrier.hpp"
#include "support/cluster_harness.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/** Reads `app` until `count` robot events of `device_id` arrived (presence events skipped). */
std::vector<json::value> robot_events(ws_client& app, std::string const& device_id, std::size_t count)
{
    std::vector<json::value> got;
    while (got.size() < count) {
        auto e = app.expect("event", 15s);
        REQUIRE_MESSAGE(!e.is_null(), "only " << got.size() << " of " << count << " events arrived");
        if (e.at("device_id") == device_id.c_str() && e.as_object().contains("seq"))
            got.push_back(std::move(e));
    }
    return got;
}

void send_events(ws_client& robot, std::string const& name, int from, int to)
{
    for (int i = from; i <= to; ++i)
        robot.send(json::object{{"type", "event"}, {"event", name}, {"data", {{"i", i}}}});
}

/** The events' `data.i`, and checks that their seq rise by one. */
std::vector<std::int64_t> numbers_of(std::vector<json::value> const& events)
{
    std::vector<std::int64_t> out;
    for (std::size_t k = 0; k < events.size(); ++k) {
        out.push_back(events[k].at("data").at("i").to_number<std::int64_t>());
        if (k > 0)
            CHECK(events[k].at("seq").to_number<std::uint64_t>() == events[k - 1].at("seq").to_number<std::uint64_t>() + 1);
    }
    return out;
}

/** "1 2 3": a failed comparison shows the numbers. */
std::string listed(std::vector<std::int64_t> const& numbers)
{
    std::string out;
    for (auto n : numbers)
        out += (out.empty() ? "" : " ") + std::to_string(n);
    return out;
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t to)
{
    std::vector<std::int64_t> out;
    for (auto i = from; i <= to; ++i)
        out.push_back(i);
    return out;
}

} // namespace

TEST_CASE("cluster events: a robot's events reach every app with access on every node, numbered and in order")
{
    cluster_harness c;
    auto h = c.make_household();
    // The robot on node 0; the owner's apps on all three nodes, the members' on the others.
    auto owner_0 = c.connect_app(0, h.owner);
    auto owner_1 = c.connect_app(1, h.owner);
    auto owner_2 = c.connect_app(2, h.owner);
    auto operator_2 = c.connect_app(2, h.operator_user);
    auto viewer_1 = c.connect_app(1, h.viewer);
    auto stranger_2 = c.connect_app(2, h.stranger);
    auto robot = c.connect_robot(0, h.dev);
    // Each app hears the robot come: its node has the device's channel from then on.
    std::vector<ws_client*> const apps{owner_0.get(), owner_1.get(), owner_2.get(), operator_2.get(), viewer_1.get()};
    for (auto* app : apps)
        REQUIRE(expect_event(*app, "robot_connected", h.dev.device_id).is_object());

    send_events(*robot, "mission_progress", 1, 50);
    for (auto* app : apps) {
        auto got = robot_events(*app, h.dev.device_id, 50);
        CHECK(listed(numbers_of(got)) == listed(range(1, 50)));
        CHECK(got.front().at("event") == "mission_progress");
        CHECK(got.front().at("seq").to_number<std::uint64_t>() >= 1);
        CHECK(got.front().as_object().contains("ts"));
    }
    // The stranger's node delivered the events to its other apps (operator_2, above): whatever it
    // sent the stranger would be queued before the pong.
    expect_nothing_before_pong(*stranger_2, "event");
}

TEST_CASE("cluster events: robot_connected and robot_disconnected reach apps on other nodes")
{
    cluster_harness c;
    auto h = c.make_household();
    auto owner_1 = c.connect_app(1, h.owner);
    auto viewer_2 = c.connect_app(2, h.viewer);
    auto stranger_1 = c.connect_app(1, h.stranger);

    auto robot = c.connect_robot(0, h.dev);
    for (auto* app : {owner_1.get(), viewer_2.get()}) {
        auto e = expect_event(*app, "robot_connected", h.dev.device_id);
        REQUIRE(e.is_object());
        CHECK_FALSE(e.as_object().contains("seq"));
    }
    CHECK(c.online_on(1, h.owner, h.dev.device_id));
    CHECK(c.online_on(2, h.viewer, h.dev.device_id));

    robot->close();
    for (auto* app : {owner_1.get(), viewer_2.get()})
        CHECK(expect_event(*app, "robot_disconnected", h.dev.device_id).is_object());
    CHECK(c.wait_online(2, h.viewer, h.dev.device_id, false));
    expect_nothing_before_pong(*stranger_1, "event");

    // An app that connects now on any node is told the robot is offline.
    json::value ok;
    auto late = c.connect_app(2, h.operator_user, &ok);
    REQUIRE(ok.at("devices").as_array().size() == 1);
    CHECK(ok.at("devices").as_array()[0].at("online") == false);
}

TEST_CASE("cluster events: auth_ok on another node says the robot is online")
{
    cluster_harness c;
    auto h = c.make_household();
    auto robot = c.connect_robot(0, h.dev);
    REQUIRE(c.wait_online(1, h.owner, h.dev.device_id, true));
    json::value ok;
    auto app = c.connect_app(1, h.owner, &ok);
    auto const& devices = ok.at("devices").as_array();
    REQUIRE(devices.size() == 1);
    CHECK(devices[0].at("device_id") == h.dev.device_id.c_str());
    CHECK(devices[0].at("role") == "owner");
    CHECK(devices[0].at("online") == true);
}

TEST_CASE("cluster events: resume on a third node replays exactly the missed events, complete")
{
    cluster_harness c;
    auto h = c.make_household();
    auto [first, robot] = c.connect_pair(1, h.owner, 0, h.dev);
    std::uint64_t last_seq = 0;
    {
        auto app = std::move(first);
        send_events(*robot, "step", 1, 10);
        auto got = robot_events(*app, h.dev.device_id, 10);
        CHECK(listed(numbers_of(got)) == listed(range(1, 10)));
        last_seq = got.back().at("seq").to_number<std::uint64_t>();
        app->close();
    }
    // Sent while the app is away; the robot's own round trip proves they reached its node.
    send_events(*robot, "step", 11, 25);
    round_trip(*robot);

    // The app comes back on node 2, which has never seen it, and resumes from its last seq.
    auto app = c.connect_app(2, h.owner);
    app->send(json::object{{"type", "resume"}, {"device_id", h.dev.device_id}, {"after_seq", last_seq}});
    std::vector<json::value> replayed;
    json::value resumed;
    for (;;) {
        auto m = app->read_json(30s);
        REQUIRE(m);
        if (m->at("type") == "resumed") {
            resumed = *m;
            break;
        }
        if (m->at("type") == "event" && m->as_object().contains("seq"))
            replayed.push_back(*m);
    }
    // Events 11..25 may have been sent before the app subscribed on node 2 or (not here: the
    // round trip above) after; every one of them exactly once, in order.
    CHECK(listed(numbers_of(replayed)) == listed(range(11, 25)));
    CHECK(resumed.at("complete") == true);
    CHECK(resumed.at("from_seq").to_number<std::uint64_t>() == last_seq + 1);
    CHECK(resumed.at("to_seq").to_number<std::uint64_t>() == last_seq + 15);

    // Live events go on after the replay, numbered on.
    send_events(*robot, "step", 26, 27);
    auto live = robot_events(*app, h.dev.device_id, 2);
    CHECK(listed(numbers_of(live)) == listed(range(26, 27)));
    CHECK(live.front().at("seq").to_number<std::uint64_t>() == last_seq + 16);
}

TEST_CASE("cluster events: seq goes on across nodes when the robot moves to another node")
{
    cluster_harness c;
    auto h = c.make_household();
    auto [app, robot] = c.connect_pair(2, h.owner, 0, h.dev);
    send_events(*robot, "step", 1, 5);
    auto before = robot_events(*app, h.dev.device_id, 5);
    robot->close();
    REQUIRE(c.wait_online(2, h.owner, h.dev.device_id, false));

    robot = c.connect_robot(1, h.dev);
    REQUIRE(expect_event(*app, "robot_connected", h.dev.device_id).is_object());
    send_events(*robot, "step", 6, 10);
    auto after = robot_events(*app, h.dev.device_id, 5);
    // One numbering per device, wherever the robot is connected.
    CHECK(after.front().at("seq").to_number<std::uint64_t>() == before.back().at("seq").to_number<std::uint64_t>() + 1);
    CHECK(listed(numbers_of(after)) == listed(range(6, 10)));
}

TEST_CASE("cluster events: ping answered on every node")
{
    cluster_harness c;
    auto owner = c.make_account();
    for (std::size_t i = 0; i < c.size(); ++i) {
        auto app = c.connect_app(i, owner);
        app->send(json::object{{"type", "ping"}, {"id", "p" + std::to_string(i)}});
        auto pong = app->expect("pong");
        REQUIRE(pong.is_object());
        CHECK(pong.at("id") == ("p" + std::to_string(i)).c_str());
        CHECK(pong.as_object().contains("ts"));
    }
}
