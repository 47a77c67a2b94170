// Graceful shutdown on SIGTERM: apps are told to reconnect (1012) at once, an in-flight REST
// tunnel request still completes, robots are told once it has, and relayd exits 0.
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <future>
#include <thread>

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
    // The robot is still connected while the relay drains: its answer gets through.
    std::this_thread::sleep_for(300ms);
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
    REQUIRE(!robot->expect("http_request").is_null());
    auto exit_status = std::async(std::launch::async, [&] { return relayd.stop(SIGTERM); });
    std::this_thread::sleep_for(300ms);
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
