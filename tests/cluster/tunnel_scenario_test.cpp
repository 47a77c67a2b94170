// Contract section 5 across nodes: the REST tunnel's HTTP form (asked on one node) and socket
// form (an app on another) reach the robot on a third node and bring its answer back; an offline
// robot is 503 DEVICE_OFFLINE, a silent one 504 DEVICE_TIMEOUT, a path outside the allow list
// 403 before any node is asked.
#include "support/barrier.hpp"
#include "support/cluster_harness.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <future>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/** The robot's answer to one http_request: an echo of what it was asked. */
json::object echo_answer(json::value const& request)
{
    return {{"type", "http_response"},
            {"id", request.at("id")},
            {"status", 201},
            {"headers", {{"Content-Type", "application/json"}, {"X-Robot", "yes"}}},
            {"body",
             {{"method", request.at("method")},
              {"path", request.at("path")},
              {"query", request.at("query")},
              {"body", request.as_object().contains("body") ? request.at("body") : json::value(nullptr)}}}};
}

std::future<http_reply> call_async(std::uint16_t port, std::string const& method, std::string const& target,
                                   std::string const& token, std::string const& body = {})
{
    return std::async(std::launch::async, [=] {
        header_list headers{{"Authorization", "Bearer " + token}};
        if (!body.empty())
            headers.emplace_back("Content-Type", "application/json");
        return http_call(port, method, target, body, headers);
    });
}

} // namespace

TEST_CASE("cluster tunnel: HTTP form on one node, robot on another, the answer comes back")
{
    cluster_harness c;
    auto h = c.make_household();
    auto robot = c.connect_robot(0, h.dev);
    REQUIRE(c.wait_online(1, h.owner, h.dev.device_id, true));

    auto pending = call_async(c.port(1), "POST", "/api/devices/" + h.dev.device_id + "/rest/missions/start?fast=1",
                              h.owner.access_token, R"({"mission":"patrol"})");
    auto request = robot->expect("http_request", 15s);
    REQUIRE(request.is_object());
    CHECK(request.at("method") == "POST");
    CHECK(request.at("path") == "/missions/start");
    CHECK(request.at("query") == "fast=1");
    CHECK(request.at("body").at("mission") == "patrol");
    CHECK_FALSE(request.at("headers").as_object().contains("Authorization")); // the relay's credentials stay home
    robot->send(echo_answer(request));

    REQUIRE(pending.wait_for(30s) == std::future_status::ready);
    auto reply = pending.get();
    CHECK(reply.status == 201);
    CHECK(reply.json().at("path") == "/missions/start");
    CHECK(reply.json().at("body").at("mission") == "patrol");

    // A viewer may only GET, from any node; a stranger does not see the device.
    auto viewer_post = http_json(c.port(2), "POST", "/api/devices/" + h.dev.device_id + "/rest/missions/start",
                                 json::object{}, h.viewer.access_token);
    CHECK(viewer_post.status == 403);
    auto stranger_get = http_get(c.port(2), "/api/devices/" + h.dev.device_id + "/rest/status", h.stranger.access_token);
    CHECK(stranger_get.status == 404);
    // Outside the allow list: refused before the robot's node is asked.
    auto secret = http_get(c.port(2), "/api/devices/" + h.dev.device_id + "/rest/etc/passwd", h.owner.access_token);
    CHECK(secret.status == 403);
    CHECK(secret.error_code() == "PATH_NOT_ALLOWED");
    // A good request from the same node follows them to the robot's node: it is the first the
    // robot receives.
    auto good = call_async(c.port(2), "GET", "/api/devices/" + h.dev.device_id + "/rest/status", h.viewer.access_token);
    auto next = robot->expect("http_request", 15s);
    REQUIRE(next.is_object());
    CHECK(next.at("path") == "/status");
    CHECK(next.at("method") == "GET");
    robot->send(echo_answer(next));
    REQUIRE(good.wait_for(30s) == std::future_status::ready);
    CHECK(good.get().status == 201);
    for (auto const& m : robot->skipped())
        CHECK(m.at("type") != "http_request");
}

TEST_CASE("cluster tunnel: socket form from an app on another node, answered with the app's id")
{
    cluster_harness c;
    auto h = c.make_household();
    auto [app, robot] = c.connect_pair(2, h.owner, 0, h.dev);

    app->send(json::object{{"type", "http_request"}, {"device_id", h.dev.device_id}, {"id", "r1"}, {"method", "GET"},
                           {"path", "/status"}, {"query", "verbose=1"}});
    auto request = robot->expect("http_request", 15s);
    REQUIRE(request.is_object());
    CHECK(request.at("path") == "/status");
    CHECK(request.at("id") != "r1"); // the relay numbers requests itself
    robot->send(echo_answer(request));
    auto res = app->expect("http_response", 15s);
    REQUIRE(res.is_object());
    CHECK(res.at("id") == "r1");
    CHECK(res.at("device_id") == h.dev.device_id.c_str());
    CHECK(res.at("status") == 201);
    CHECK(res.at("body").at("query") == "verbose=1");
    CHECK(res.at("headers").at("X-Robot") == "yes");
}

TEST_CASE("cluster tunnel: offline robot 503 DEVICE_OFFLINE, silent robot 504 DEVICE_TIMEOUT, from another node")
{
    cluster_harness c(cluster_of(3, {{"RELAY_TUNNEL_TIMEOUT", "2"}}));
    auto h = c.make_household();
    auto offline = http_get(c.port(1), "/api/devices/" + h.dev.device_id + "/rest/status", h.owner.access_token);
    CHECK(offline.status == 503);
    CHECK(offline.error_code() == "DEVICE_OFFLINE");

    auto robot = c.connect_robot(0, h.dev);
    REQUIRE(c.wait_online(1, h.owner, h.dev.device_id, true));
    auto silent = http_get(c.port(1), "/api/devices/" + h.dev.device_id + "/rest/status", h.owner.access_token);
    CHECK(silent.status == 504);
    CHECK(silent.error_code() == "DEVICE_TIMEOUT");
    // The robot was asked; its late answer is dropped without harm.
    auto request = robot->expect("http_request", 5s);
    REQUIRE(request.is_object());
    robot->send(echo_answer(request));
    round_trip(*robot);

    // The socket form says the same with the request's id.
    auto app = c.connect_app(2, h.owner);
    app->send(json::object{{"type", "http_request"}, {"device_id", h.dev.device_id}, {"id", "slow"}, {"method", "GET"},
                           {"path", "/status"}});
    auto e = app->expect("error", 15s);
    REQUIRE(e.is_object());
    CHECK(e.at("code") == "DEVICE_TIMEOUT");
    CHECK(e.at("ref") == "slow");
}
