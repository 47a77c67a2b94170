// Graceful shutdown on SIGTERM: apps are told to reconnect (1012) at once, an in-flight REST
// tunnel request still completes, robots are told once it has, and relayd exits 0.
#include "support/barrier.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <future>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("SIGTERM: 1012 to apps, in-flight tunnel request completes, then 1012 to robots, exit 0")
{
    relayd_process relayd(test_env({{"RELAY_SHUTDOWN_GRACE", "10"}, {"RELAY_TUNNEL_TIMEOUT", "10"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "sd-bot");
    auto robot = connect_robot(relayd.port(), dev);
    auto app = connect_app(relayd.port(), owner);

    auto call = std::async(std::launch::async, [&] {
        return http_call(relayd.port(), "GET", "/api/devices/sd-bot/rest/status", {},
                         {{"Authorization", "Bearer " + owner.access_token}});
    });
    auto request = robot->expect("http_request");
    REQUIRE(!request.is_null());

    auto exit_status = std::async(std::launch::async, [&] { return relayd.stop(SIGTERM); });
    CHECK(app->wait_closed(5s) == 1012);
    // The robot is still connected and served while the relay drains: its answer gets through.
    round_trip(*robot);
    CHECK(robot->is_open());
    robot->send(json::object{{"type", "http_response"}, {"id", request.at("id")}, {"status", 200},
                             {"headers", json::object{}}, {"body", {{"battery", 87}}}});
    auto answer = call.get();
    CHECK(answer.status == 200);
    CHECK(answer.json().at("battery") == 87);
    CHECK(robot->wait_closed(5s) == 1012);
    CHECK(exit_status.get() == 0);
}

TEST_CASE("SIGTERM: no new connections are taken while draining")
{
    relayd_process relayd(test_env({{"RELAY_SHUTDOWN_GRACE", "3"}, {"RELAY_TUNNEL_TIMEOUT", "10"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "sd-bot2");
    auto robot = connect_robot(relayd.port(), dev);
    auto call = std::async(std::launch::async, [&] {
        return http_call(relayd.port(), "GET", "/api/devices/sd-bot2/rest/status", {},
                         {{"Authorization", "Bearer " + owner.access_token}});
    });
    auto app = connect_app(relayd.port(), owner);
    REQUIRE(!robot->expect("http_request").is_null());
    auto exit_status = std::async(std::launch::async, [&] { return relayd.stop(SIGTERM); });
    // The relay closes its listener before it tells apps to reconnect: after the app's 1012 no
    // new connection is taken.
    CHECK(app->wait_closed(5s) == 1012);
    CHECK_THROWS(http_get(relayd.port(), "/health")); // the listener is closed
    // The robot never answers: the grace period bounds the wait, and the request fails cleanly.
    http_reply answer;
    try {
        answer = call.get();
    } catch (std::exception const& e) {
        FAIL_CHECK("the request got no answer: " << e.what() << "\n" << relayd.output());
    }
    CHECK(answer.status == 503);
    CHECK(exit_status.get() == 0);
}

TEST_CASE("busy polling (RELAY_BUSY_POLL_US): routes both ways, then stops at once on SIGTERM")
{
    relayd_process relayd(test_env({{"RELAY_BUSY_POLL_US", "500"},
                                    {"RELAY_THREADS", "2"},
                                    {"RELAY_APP_RATE", "10000/10000"},
                                    {"RELAY_ROBOT_RATE", "10000/10000"}}));
    CHECK(relayd.output().find("busy_poll_us=500") != std::string::npos);
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "bp-bot");
    auto robot = connect_robot(relayd.port(), dev);
    auto app = connect_app(relayd.port(), owner);

    // Many round trips, so that the threads are caught polling as well as sleeping.
    for (int i = 0; i < 200; ++i) {
        auto id = "c" + std::to_string(i);
        app->send(json::object{{"type", "command"}, {"device_id", "bp-bot"}, {"id", id}, {"command", "sit"}});
        auto command = robot->expect("command");
        REQUIRE(command.is_object());
        REQUIRE(command.at("id").as_string() == id);
        robot->send(json::object{{"type", "command_result"}, {"id", id}, {"ok", true}});
        auto result = app->expect("command_result");
        REQUIRE(result.is_object());
        REQUIRE(result.at("id").as_string() == id);
        robot->send(json::object{{"type", "event"}, {"event", "battery"}, {"data", {{"level", i}}}});
        auto event = app->expect("event");
        REQUIRE(event.is_object());
        REQUIRE(event.at("data").at("level") == i);
    }
    auto started = std::chrono::steady_clock::now();
    CHECK(relayd.stop(SIGTERM) == 0);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("SIGTERM with an app that stopped reading: relayd still exits 0, within the grace period")
{
    // The stalled app's socket is full and more than 64 KiB wait behind it, so its writes are
    // parked; shutdown must neither wait for it for ever nor leave it behind (a sanitizer build
    // reports such a leak and exits non-zero).
    relayd_process relayd(test_env({{"RELAY_SHUTDOWN_GRACE", "2"},
                                    {"RELAY_ROBOT_RATE", "100000/100000"},
                                    {"RELAY_SEND_QUEUE_MAX_MESSAGES", "100000"},
                                    {"RELAY_SEND_QUEUE_MAX_BYTES", "1073741824"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "stall-bot");
    auto stalled = connect_app(relayd.port(), owner);
    auto robot = connect_robot(relayd.port(), dev);
    std::string blob(20000, 'x');
    for (int i = 0; i < 400; ++i) // 8 MB: more than loopback's socket buffers hold
        robot->send(json::object{{"type", "event"}, {"event", "photo"}, {"data", {{"i", i}, {"blob", blob}}}});
    // The robot's events have been routed once a later request on its socket is answered.
    round_trip(*robot);
    CHECK(stalled->is_open());

    auto started = std::chrono::steady_clock::now();
    auto status = relayd.stop(SIGTERM);
    CHECK_MESSAGE(status == 0, relayd.output());
    CHECK(std::chrono::steady_clock::now() - started < 8s);
}
