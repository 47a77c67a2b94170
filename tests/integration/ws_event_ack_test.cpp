// Robot event acknowledgement on one relayd (contract section 8): an event with an `id` is
// answered `ack` once it is in the device's history; the same id again within the history gets
// the same ack and reaches no app twice; an event without an id gets no ack.
#include "support/barrier.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

json::object robot_event(std::string name, json::value data, std::optional<std::string> id = std::nullopt)
{
    json::object m{{"type", "event"}, {"event", std::move(name)}, {"data", std::move(data)}};
    if (id)
        m["id"] = *id;
    return m;
}

std::uint64_t seq_of(json::value const& m)
{
    return m.at("seq").to_number<std::uint64_t>();
}

/** The `ack` for `id`: its seq. Fails the test when another ack or none comes first. */
std::uint64_t expect_ack(ws_client& robot, std::string const& id)
{
    auto ack = robot.expect("ack");
    REQUIRE(!ack.is_null());
    CHECK(ack.at("ref").as_string() == id);
    CHECK(ack.as_object().size() == 3); // type, ref, seq: nothing else
    return seq_of(ack);
}

} // namespace

TEST_CASE("event ack: acked once in history; the same id again gets the same ack and no second delivery")
{
    owner_with_app setup;
    auto& [relayd, owner, dev, app] = setup;
    auto robot = connect_robot(relayd.port(), dev);
    REQUIRE(!app->expect("event").is_null()); // robot_connected

    robot->send(robot_event("mission_progress", {{"step", 1}}, "m-1"));
    auto seq = expect_ack(*robot, "m-1");
    auto delivered = app->expect("event");
    REQUIRE(!delivered.is_null());
    CHECK(seq_of(delivered) == seq);
    CHECK(delivered.at("data").at("step") == 1);

    // The robot did not see the ack (say) and sends the event again, on the same connection and
    // then on a new one: the same answer both times.
    robot->send(robot_event("mission_progress", {{"step", 1}}, "m-1"));
    CHECK(expect_ack(*robot, "m-1") == seq);
    auto again = connect_robot(relayd.port(), dev); // replaces the first connection (4409)
    CHECK(robot->wait_closed() == 4409);
    again->send(robot_event("mission_progress", {{"step", 1}}, "m-1"));
    CHECK(expect_ack(*again, "m-1") == seq);

    // An event without an id is delivered as ever and gets no ack.
    again->send(robot_event("battery", {{"level", 80}}));
    auto before_pong = messages_before_pong(*again);
    CHECK(std::none_of(before_pong.begin(), before_pong.end(), [](auto const& m) { return m.at("type") == "ack"; }));

    // The app got the plain event once, right after the first: nothing for the re-sends.
    auto robot_events = robot_events_in(messages_before_pong(*app));
    REQUIRE(robot_events.size() == 1);
    CHECK(robot_events[0].at("event").as_string() == "battery");
    CHECK(seq_of(robot_events[0]) == seq + 1);

    // resume shows the acked event once.
    auto late = connect_app(relayd.port(), owner);
    std::vector<std::uint64_t> replayed;
    for (auto const& e : resume_robot_events(*late, dev.device_id))
        replayed.push_back(seq_of(e));
    CHECK(replayed == std::vector<std::uint64_t>{seq, seq + 1});

    // The two re-sends are counted for the operator.
    auto metrics = http_get(relayd.port(), "/metrics").body;
    CHECK(metrics.find("\nrelay_duplicate_events_total 2\n") != std::string::npos);
}

TEST_CASE("event ack: ids are per device, and a distinct id is a distinct event")
{
    owner_with_app setup;
    auto& [relayd, owner, dev, first_app] = setup;
    auto other = make_device(relayd.port(), owner);
    auto app = connect_app(relayd.port(), owner); // sees both devices
    auto robot = connect_robot(relayd.port(), dev);
    auto robot2 = connect_robot(relayd.port(), other);

    robot->send(robot_event("alert", {{"n", 1}}, "x"));
    robot->send(robot_event("alert", {{"n", 2}}, "y"));
    auto x = expect_ack(*robot, "x");
    CHECK(expect_ack(*robot, "y") == x + 1);
    robot2->send(robot_event("alert", {{"n", 3}}, "x"));
    expect_ack(*robot2, "x");

    round_trip(*robot);
    round_trip(*robot2);
    CHECK(robot_events_in(messages_before_pong(*app)).size() == 3);
}

TEST_CASE("event ack: an id whose event left the history is a new event")
{
    owner_with_app setup(std::string{}, test_env({{"RELAY_REPLAY_MAX_EVENTS", "2"}}));
    auto& [relayd, owner, dev, app] = setup;
    auto robot = connect_robot(relayd.port(), dev);

    robot->send(robot_event("a", {}, "a"));
    auto a = expect_ack(*robot, "a");
    robot->send(robot_event("b", {}, "b"));
    robot->send(robot_event("c", {}, "c"));
    expect_ack(*robot, "b");
    expect_ack(*robot, "c");
    // Two events kept: a is gone from the history, so it is published anew.
    robot->send(robot_event("a", {}, "a"));
    CHECK(expect_ack(*robot, "a") == a + 3);
}
