// Contract section 4 across nodes: a whole signaling round between an app on one node and the
// robot on another (request, credentials to both ends, offer, answer, ICE both ways, stats,
// close), and the relay's own close when the robot goes away.
#include "support/barrier.hpp"
#include "support/cluster_harness.hpp"
#include "support/webrtc_checks.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

cluster_options webrtc_cluster(env_map extra = {})
{
    extra.try_emplace("RELAY_TURN_PROVIDER", "coturn");
    extra.try_emplace("RELAY_TURN_SECRET", "signaling-test-secret");
    extra.try_emplace("RELAY_TURN_URLS", "turns:127.0.0.1:5349,turn:127.0.0.1:3478");
    extra.try_emplace("RELAY_STUN_URLS", "stun:127.0.0.1:3478");
    return cluster_of(3, std::move(extra));
}

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

/** A session requested by `app` with the defaults: the robot's webrtc_request (the app's
 * credentials read too). */
json::value open_session(ws_client& app, ws_client& robot, std::string const& device_id)
{
    app.send(json::object{{"type", "webrtc_request"}, {"device_id", device_id}});
    auto request = robot.expect("webrtc_request", 15s);
    REQUIRE(request.is_object());
    REQUIRE(app.expect("webrtc_credentials", 15s).is_object());
    return request;
}

} // namespace

TEST_CASE("cluster webrtc: request, credentials, offer, answer, ice, stats and close between nodes")
{
    cluster_harness c(webrtc_cluster());
    auto h = c.make_household();
    auto [app, robot] = c.connect_pair(1, h.owner, 0, h.dev);

    app->send(json::object{{"type", "webrtc_request"}, {"device_id", h.dev.device_id}, {"id", "w1"},
                           {"media", "both"}, {"quality", "high"}});
    auto creds = app->expect("webrtc_credentials", 15s);
    auto req = robot->expect("webrtc_request", 15s);
    REQUIRE(creds.is_object());
    REQUIRE(req.is_object());
    auto const session_id = str(creds, "session_id");
    CHECK(session_id.size() >= 32);
    CHECK(str(creds, "device_id") == h.dev.device_id);
    CHECK(str(creds, "ref") == "w1");
    CHECK(str(creds.at("credentials"), "username").find(":" + h.owner.user_id) != std::string::npos);
    CHECK(str(req, "session_id") == session_id);
    CHECK(str(req, "from_user") == h.owner.user_id);
    CHECK(str(req, "media") == "both");
    CHECK(str(req, "quality") == "high");
    CHECK(str(req.at("turn_credentials"), "username").find(":" + h.dev.device_id) != std::string::npos);

    robot->send(json::object{{"type", "webrtc_offer"}, {"session_id", session_id},
                             {"sdp", {{"type", "offer"}, {"sdp", "v=0 offer"}}}});
    auto offer = app->expect("webrtc_offer", 15s);
    REQUIRE(offer.is_object());
    CHECK(str(offer.at("sdp"), "sdp") == "v=0 offer");

    app->send(json::object{{"type", "webrtc_answer"}, {"session_id", session_id},
                           {"sdp", {{"type", "answer"}, {"sdp", "v=0 answer"}}}});
    auto answer = robot->expect("webrtc_answer", 15s);
    REQUIRE(answer.is_object());
    CHECK(str(answer.at("sdp"), "type") == "answer");
    CHECK(str(answer.at("sdp"), "sdp") == "v=0 answer");

    json::object candidate{{"candidate", "candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host"},
                           {"sdpMid", "0"}, {"sdpMLineIndex", 0}};
    robot->send(json::object{{"type", "webrtc_ice"}, {"session_id", session_id}, {"candidate", candidate}});
    auto ice_to_app = app->expect("webrtc_ice", 15s);
    REQUIRE(ice_to_app.is_object());
    CHECK(str(ice_to_app.at("candidate"), "sdpMid") == "0");
    app->send(json::object{{"type", "webrtc_ice"}, {"session_id", session_id}, {"candidate", nullptr}});
    auto ice_to_robot = robot->expect("webrtc_ice", 15s);
    REQUIRE(ice_to_robot.is_object());
    CHECK(ice_to_robot.at("candidate").is_null());

    // Stats from either end are taken without an answer; the session still works afterwards.
    app->send(json::object{{"type", "webrtc_stats"}, {"session_id", session_id}, {"state", "connected"},
                           {"connection_type", "relay"}, {"rtt_ms", 42}});
    robot->send(json::object{{"type", "webrtc_stats"}, {"session_id", session_id}, {"state", "connected"},
                             {"connection_type", "relay"}});
    round_trip(*robot);
    expect_nothing_before_pong(*app, "error");

    app->send(json::object{{"type", "webrtc_close"}, {"session_id", session_id}, {"reason", "user_hangup"}});
    auto closed = robot->expect("webrtc_close", 15s);
    REQUIRE(closed.is_object());
    CHECK(str(closed, "by") == "app");
    CHECK(str(closed, "reason") == "user_hangup");

    // The session is gone everywhere: more signaling for it is refused.
    app->send(json::object{{"type", "webrtc_ice"}, {"session_id", session_id}, {"candidate", nullptr}});
    auto gone = app->expect("error", 15s);
    REQUIRE(gone.is_object());
    CHECK(gone.at("code") == "SESSION_NOT_FOUND");
}

TEST_CASE("cluster webrtc: the robot's close reaches the app on another node; a robot that leaves ends the session")
{
    cluster_harness c(webrtc_cluster());
    auto h = c.make_household();
    auto [app, robot] = c.connect_pair(2, h.operator_user, 0, h.dev);

    auto first = open_session(*app, *robot, h.dev.device_id);
    robot->send(json::object{{"type", "webrtc_close"}, {"session_id", first.at("session_id")}, {"reason", "busy"}});
    auto by_robot = app->expect("webrtc_close", 15s);
    REQUIRE(by_robot.is_object());
    CHECK(str(by_robot, "by") == "robot");
    CHECK(str(by_robot, "reason") == "busy");

    auto second = open_session(*app, *robot, h.dev.device_id);
    robot->close();
    auto by_relay = app->expect("webrtc_close", 15s);
    REQUIRE(by_relay.is_object());
    CHECK(by_relay.at("session_id") == second.at("session_id"));
    CHECK(str(by_relay, "by") == "relay");
}

TEST_CASE("cluster webrtc: a request for a robot that is offline everywhere is DEVICE_OFFLINE")
{
    cluster_harness c(webrtc_cluster());
    auto h = c.make_household();
    auto app = c.connect_app(1, h.owner);
    app->send(json::object{{"type", "webrtc_request"}, {"device_id", h.dev.device_id}, {"id", "w-off"}});
    auto e = app->expect("error", 15s);
    REQUIRE(e.is_object());
    CHECK(e.at("code") == "DEVICE_OFFLINE");
    CHECK(e.at("ref") == "w-off");
}

TEST_CASE("cluster webrtc: a renewal across nodes is counted as one by the robot's node and closes the old session")
{
    // The robot's node enforces the per-device limit (1): the renewal must pass there too.
    cluster_harness c(webrtc_cluster({{"RELAY_WEBRTC_MAX_PER_DEVICE", "1"}, {"RELAY_WEBRTC_REPLACE_GRACE", "1"}}));
    auto h = c.make_household();
    auto [app, robot] = c.connect_pair(1, h.owner, 0, h.dev);

    auto const old_id = str(open_session(*app, *robot, h.dev.device_id), "session_id");
    app->send(json::object{{"type", "webrtc_request"}, {"device_id", h.dev.device_id}, {"id", "p1"}});
    auto limit = app->expect("error", 15s);
    REQUIRE(limit.is_object());
    CHECK(limit.at("code") == "SESSION_LIMIT");
    app->send(json::object{{"type", "webrtc_request"}, {"device_id", h.dev.device_id}, {"id", "x1"},
                           {"replaces", "s_0000"}});
    auto unknown = app->expect("error", 15s);
    REQUIRE(unknown.is_object());
    CHECK(unknown.at("code") == "SESSION_NOT_FOUND");

    app->send(json::object{{"type", "webrtc_request"}, {"device_id", h.dev.device_id}, {"id", "r1"},
                           {"replaces", old_id}});
    auto creds = app->expect("webrtc_credentials", 15s);
    auto req = robot->expect("webrtc_request", 15s);
    REQUIRE(creds.is_object());
    REQUIRE(req.is_object());
    auto const new_id = str(creds, "session_id");
    CHECK(str(req, "session_id") == new_id);
    CHECK(str(req, "replaces") == old_id);

    // The robot reports the new one connected (recorded on the app's node, which closes the old).
    robot->send(json::object{{"type", "webrtc_stats"}, {"session_id", new_id}, {"state", "connected"},
                             {"connection_type", "relay"}});
    expect_relay_close(*app, old_id, "replaced", 15s);
    expect_relay_close(*robot, old_id, "replaced", 15s);

    // The new session lives on at both nodes.
    app->send(json::object{{"type", "webrtc_ice"}, {"session_id", new_id}, {"candidate", nullptr}});
    auto ice = robot->expect("webrtc_ice", 15s);
    REQUIRE(ice.is_object());
    CHECK(str(ice, "session_id") == new_id);
}
