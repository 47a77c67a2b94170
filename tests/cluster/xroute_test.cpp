// Requests across relay nodes (docs/protocol.md, "Requests across nodes") end to end: a real
// redis-server, relayd nodes sharing it, a SQLite file and their secrets; the app on one node,
// the robot on another. Commands, the REST tunnel (HTTP and socket forms), WebRTC signaling, the
// robot's node killed while the app waits, and Redis killed while apps on both nodes ask.
#include "cluster/eventually.hpp"
#include "redis/redis_server.hpp"
#include "support/barrier.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <relay/store/store.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <future>
#include <thread>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/** `n` relayd nodes on one Redis and one SQLite file, with the same secrets. */
struct nodes_rig {
    explicit nodes_rig(std::size_t n, env_map extra = {})
    {
        extra.try_emplace("RELAY_DATABASE", dir.path() + "/relay.db");
        extra.try_emplace("RELAY_JWT_SECRET", "xroute-test-jwt-secret-of-at-least-32-bytes");
        extra.try_emplace("RELAY_SECRET_KEY", std::string(64, 'a'));
        extra.try_emplace("RELAY_REDIS_URL", redis.url());
        extra.try_emplace("RELAY_TURN_PROVIDER", "coturn");
        extra.try_emplace("RELAY_TURN_SECRET", "signaling-test-secret");
        extra.try_emplace("RELAY_TURN_URLS", "turn:127.0.0.1:3478");
        // A dead node is found within about 1.2 s (docs/scaling.md).
        extra.try_emplace("RELAY_NODE_HEARTBEAT_MS", "200");
        extra.try_emplace("RELAY_NODE_TIMEOUT_MS", "1000");
        env = test_env(std::move(extra));
        // One after the other: the first creates the schema.
        for (std::size_t i = 0; i < n; ++i) {
            auto e = env;
            e["RELAY_NODE_ID"] = "node-" + std::to_string(i + 1);
            nodes.push_back(std::make_unique<relayd_process>(e));
        }
        owner = make_account(port(0));
        dev = make_device(port(0), owner, "xbot");
    }
    std::uint16_t port(std::size_t i) const { return nodes.at(i)->port(); }

    /** The robot connected to node `i`, once node 0 sees it online. */
    std::unique_ptr<ws_client> robot_on(std::size_t i)
    {
        auto robot = connect_robot(port(i), dev);
        wait_online(0);
        return robot;
    }

    /** Waits until node `i` sees the device online (its robot's owner record is in Redis). */
    void wait_online(std::size_t i, std::string const& device_id = "xbot", bool online = true)
    {
        bool seen = eventually(
            [&] {
                auto r = http_get(port(i), "/api/devices", owner.access_token);
                auto listed = r.status == 200 ? r.json() : json::array();
                for (auto const& d : listed.as_array())
                    if (d.at("device_id") == device_id.c_str())
                        return d.at("online").as_bool() == online;
                return false;
            },
            15s);
        REQUIRE_MESSAGE(seen, "node ", i, " never saw ", device_id, online ? " online" : " offline");
    }

    temp_dir dir;
    redis::redis_server redis;
    env_map env;
    std::vector<std::unique_ptr<relayd_process>> nodes;
    account owner;
    device_credentials dev;
};

json::object command(std::string const& id)
{
    return {{"type", "command"}, {"device_id", "xbot"}, {"id", id}, {"command", "dock"}, {"data", json::object{}}};
}

/** The next message of `type` (or an `error`) whose ref/id is `id`; null on timeout. */
json::value reply_to(ws_client& ws, std::string const& id, std::chrono::milliseconds limit = 10s)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        auto m = ws.read_json(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
        if (!m)
            break;
        auto const& o = m->as_object();
        auto const* ref = o.if_contains("ref");
        auto const* own = o.if_contains("id");
        if ((ref && *ref == id.c_str()) || (own && *own == id.c_str()))
            return *m;
    }
    return nullptr;
}

std::string type_of(json::value const& v)
{
    return v.is_object() ? std::string(v.at("type").as_string()) : std::string("(nothing)");
}

std::string code_of(json::value const& v)
{
    auto const* c = v.is_object() ? v.as_object().if_contains("code") : nullptr;
    return c ? std::string(c->as_string()) : std::string();
}

/** One command from `app` answered by `robot`: the round trip in microseconds. */
double command_round_trip(ws_client& app, ws_client& robot, std::string const& id)
{
    auto started = std::chrono::steady_clock::now();
    app.send(command(id));
    auto req = robot.expect("command");
    REQUIRE(req.at("id") == id.c_str());
    robot.send(json::object{{"type", "command_result"}, {"id", id}, {"ok", true}});
    auto ack = reply_to(app, id);
    REQUIRE(type_of(ack) == "ack");
    auto result = reply_to(app, id);
    REQUIRE(type_of(result) == "command_result");
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count();
}

/** A WebRTC session from `app` that reached `robot`; the app's webrtc_credentials. */
json::value start_session(ws_client& app, ws_client& robot, std::string const& id)
{
    app.send(json::object{{"type", "webrtc_request"}, {"device_id", "xbot"}, {"id", id}});
    auto creds = app.expect("webrtc_credentials");
    REQUIRE(creds.is_object());
    REQUIRE(robot.expect("webrtc_request").at("session_id") == creds.at("session_id"));
    return creds;
}

/** `notice` is the webrtc_close by relay for the session of `creds`, for `reason`. */
void check_ended_by_relay(json::value const& notice, json::value const& creds, std::string const& reason)
{
    REQUIRE(notice.is_object());
    CHECK(notice.at("session_id") == creds.at("session_id"));
    CHECK(notice.at("by") == "relay");
    CHECK(notice.at("reason") == reason.c_str());
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

TEST_CASE("xroute: a command, its ack and result across nodes; an offline robot; a pending id")
{
    nodes_rig rig(2);
    auto robot = rig.robot_on(1);
    auto app = connect_app(rig.port(0), rig.owner);

    app->send(command("c1"));
    auto sent = robot->expect("command");
    CHECK(sent.at("id") == "c1");
    CHECK(sent.at("from_user") == rig.owner.user_id.c_str());
    CHECK(type_of(reply_to(*app, "c1")) == "ack");
    robot->send(json::object{{"type", "command_result"}, {"id", "c1"}, {"ok", true}, {"data", {{"docked", true}}}});
    auto result = reply_to(*app, "c1");
    REQUIRE(type_of(result) == "command_result");
    CHECK(result.at("device_id") == "xbot");
    CHECK(result.at("data").at("docked") == true);

    // A pending id is refused, whichever node's app holds it.
    app->send(command("c2"));
    CHECK(type_of(reply_to(*app, "c2")) == "ack");
    auto app_b = connect_app(rig.port(1), rig.owner);
    app_b->send(command("c2"));
    CHECK(code_of(reply_to(*app_b, "c2")) == "BAD_MESSAGE");
    auto app_c = connect_app(rig.port(0), rig.owner);
    app_c->send(command("c2"));
    CHECK(code_of(reply_to(*app_c, "c2")) == "BAD_MESSAGE");
    robot->expect("command");
    expect_nothing_before_pong(*robot, "command");

    // The robot leaves: the pending command gets DEVICE_OFFLINE across, then new ones too.
    robot->close();
    CHECK(code_of(reply_to(*app, "c2")) == "DEVICE_OFFLINE");
    rig.wait_online(0, "xbot", false);
    app->send(command("c3"));
    CHECK(code_of(reply_to(*app, "c3")) == "DEVICE_OFFLINE");
}

TEST_CASE("xroute: the cross-node command round trip against the same-node one (measured, not asserted)")
{
    nodes_rig rig(2);
    auto robot = rig.robot_on(1);
    auto far = connect_app(rig.port(0), rig.owner);
    auto near = connect_app(rig.port(1), rig.owner);
    std::vector<double> cross, local;
    // 60 each: within an app connection's burst of 100 messages (its rate limit is 50/s).
    for (int i = 0; i < 60; ++i) {
        cross.push_back(command_round_trip(*far, *robot, "far" + std::to_string(i)));
        local.push_back(command_round_trip(*near, *robot, "near" + std::to_string(i)));
    }
    MESSAGE("command round trip p50: same node ", median(local), " us, across nodes ", median(cross), " us");
}

TEST_CASE("xroute: the REST tunnel across nodes, HTTP and socket forms, 504 and 403")
{
    nodes_rig rig(2, env_map{{"RELAY_TUNNEL_TIMEOUT", "2"}});
    auto viewer = make_account(rig.port(0));
    share_device(rig.port(0), rig.owner, "xbot", viewer, "viewer");
    auto robot = rig.robot_on(1);

    // The robot answers /status and stays silent on everything else.
    std::atomic<bool> stop{false};
    std::atomic<int> requests{0};
    std::thread answering([&] {
        while (!stop) {
            auto m = robot->read_json(100ms);
            if (!m || m->at("type") != "http_request")
                continue;
            ++requests;
            if (m->at("path") != "/status")
                continue;
            robot->send(json::object{{"type", "http_response"},
                                     {"id", m->at("id")},
                                     {"status", 200},
                                     {"headers", {{"X-Robot", "yes"}}},
                                     {"body", {{"battery", 87}, {"query", m->at("query")}}}});
        }
    });
    auto call = [&](std::string const& method, std::string const& target, std::string const& token) {
        return http_call(rig.port(0), method, target, {}, {{"Authorization", "Bearer " + token}});
    };

    auto ok = call("GET", "/api/devices/xbot/rest/status?x=1", rig.owner.access_token);
    CHECK(ok.status == 200);
    CHECK(ok.header("x-robot") == "yes");
    CHECK(ok.json().at("battery") == 87);
    CHECK(ok.json().at("query") == "x=1");

    auto app = connect_app(rig.port(0), rig.owner);
    app->send(json::object{{"type", "http_request"}, {"id", "h1"}, {"device_id", "xbot"}, {"method", "GET"}, {"path", "/status"}});
    auto answer = reply_to(*app, "h1");
    REQUIRE(type_of(answer) == "http_response");
    CHECK(answer.at("status") == 200);
    CHECK(answer.at("body").at("battery") == 87);

    auto silent = call("GET", "/api/devices/xbot/rest/missions/status", rig.owner.access_token);
    CHECK(silent.status == 504);
    CHECK(silent.error_code() == "DEVICE_TIMEOUT");
    app->send(json::object{{"type", "http_request"}, {"id", "h2"}, {"device_id", "xbot"}, {"method", "GET"},
                           {"path", "/missions/status"}});
    CHECK(code_of(reply_to(*app, "h2")) == "DEVICE_TIMEOUT");

    // Refused on the app's node, before anything travels.
    int before = requests;
    auto forbidden = call("POST", "/api/devices/xbot/rest/missions/start", viewer.access_token);
    CHECK(forbidden.status == 403);
    CHECK(forbidden.error_code() == "FORBIDDEN");
    auto not_allowed = call("GET", "/api/devices/xbot/rest/admin", rig.owner.access_token);
    CHECK(not_allowed.status == 403);
    CHECK(not_allowed.error_code() == "PATH_NOT_ALLOWED");
    // And answered again afterwards: nothing reached the robot meanwhile.
    CHECK(call("GET", "/api/devices/xbot/rest/status", rig.owner.access_token).status == 200);
    CHECK(requests == before + 1);
    stop = true;
    answering.join();
}

TEST_CASE("xroute: WebRTC signaling across nodes, and the robot leaving mid-session")
{
    nodes_rig rig(2);
    auto robot = rig.robot_on(1);
    auto app = connect_app(rig.port(0), rig.owner);

    app->send(json::object{{"type", "webrtc_request"}, {"device_id", "xbot"}, {"id", "w1"}, {"media", "video"}});
    auto creds = app->expect("webrtc_credentials");
    REQUIRE(creds.is_object());
    CHECK(creds.at("ref") == "w1");
    std::string s(creds.at("session_id").as_string());
    auto req = robot->expect("webrtc_request");
    REQUIRE(req.is_object());
    CHECK(req.at("session_id") == s.c_str());
    CHECK(req.at("from_user") == rig.owner.user_id.c_str());

    robot->send(json::object{{"type", "webrtc_offer"}, {"session_id", s}, {"sdp", {{"type", "offer"}, {"sdp", "v=0 o"}}}});
    auto offer = app->expect("webrtc_offer");
    REQUIRE(offer.is_object());
    CHECK(offer.at("sdp").at("sdp") == "v=0 o");
    app->send(json::object{{"type", "webrtc_answer"}, {"session_id", s}, {"sdp", {{"type", "answer"}, {"sdp", "v=0 a"}}}});
    CHECK(robot->expect("webrtc_answer").at("sdp").at("sdp") == "v=0 a");
    app->send(json::object{{"type", "webrtc_ice"}, {"session_id", s}, {"candidate", {{"candidate", "candidate:1 app"}}}});
    CHECK(robot->expect("webrtc_ice").at("candidate").at("candidate") == "candidate:1 app");
    robot->send(json::object{{"type", "webrtc_ice"}, {"session_id", s}, {"candidate", {{"candidate", "candidate:2 robot"}}}});
    CHECK(app->expect("webrtc_ice").at("candidate").at("candidate") == "candidate:2 robot");
    robot->send(json::object{{"type", "webrtc_stats"}, {"session_id", s}, {"state", "connected"}, {"connection_type", "relay"}});
    app->send(json::object{{"type", "webrtc_stats"}, {"session_id", s}, {"state", "connected"}, {"connection_type", "relay"}});
    // Only the session's ends: another session's id, or another app, is SESSION_NOT_FOUND.
    robot->send(json::object{{"type", "webrtc_ice"}, {"session_id", s + "x"}, {"candidate", {{"candidate", "candidate:8"}}}});
    CHECK(code_of(robot->expect("error")) == "SESSION_NOT_FOUND");
    auto other = connect_app(rig.port(0), rig.owner);
    other->send(json::object{{"type", "webrtc_ice"}, {"session_id", s}, {"candidate", {{"candidate", "candidate:9"}}}});
    CHECK(code_of(other->expect("error")) == "SESSION_NOT_FOUND");
    expect_nothing_before_pong(*robot, "webrtc_ice");

    app->send(json::object{{"type", "webrtc_close"}, {"session_id", s}, {"reason", "done"}});
    auto closed = robot->expect("webrtc_close");
    REQUIRE(closed.is_object());
    CHECK(closed.at("by") == "app");
    CHECK(closed.at("reason") == "done");

    // The app leaves mid-session: the robot hears webrtc_close by relay.
    auto creds3 = start_session(*other, *robot, "w3");
    other->close();
    check_ended_by_relay(robot->expect("webrtc_close", 10s), creds3, "app_disconnected");

    // Another session; the robot leaves in the middle of it.
    auto creds2 = start_session(*app, *robot, "w2");
    robot->close();
    check_ended_by_relay(app->expect("webrtc_close", 10s), creds2, "robot_disconnected");
    rig.wait_online(0, "xbot", false);

    // The history has each session once, written by the app's node: connected (the stats
    // crossed), ended as the app saw it.
    for (auto& n : rig.nodes)
        n->stop();
    auto store = relay::store::open_store(rig.dir.path() + "/relay.db");
    REQUIRE(store.has_value());
    auto sessions = (*store)->list_sessions("xbot", 10);
    REQUIRE(sessions.has_value());
    REQUIRE(sessions->size() == 3);
    for (auto const& row : *sessions) {
        CHECK(row.ended_at);
        if (row.session_id == s) {
            CHECK(row.connected_at);
            CHECK(row.connection_type == "relay");
            CHECK(row.end_reason == "done");
        } else if (row.session_id == creds3.at("session_id").as_string()) {
            CHECK(row.end_reason == "app_disconnected");
        } else {
            CHECK(row.end_reason == "robot_disconnected");
        }
    }
}

TEST_CASE("xroute: the robot's node killed while a command and a tunnel call wait: errors, no hang")
{
    nodes_rig rig(2, env_map{{"RELAY_TUNNEL_TIMEOUT", "120"}});
    auto robot = rig.robot_on(1);
    auto app = connect_app(rig.port(0), rig.owner);

    app->send(command("k1"));
    CHECK(type_of(reply_to(*app, "k1")) == "ack");
    robot->expect("command");
    auto tunnel = std::async(std::launch::async, [&] {
        return http_call(rig.port(0), "GET", "/api/devices/xbot/rest/status", {},
                         {{"Authorization", "Bearer " + rig.owner.access_token}});
    });
    REQUIRE(robot->expect("http_request").is_object());

    auto killed = std::chrono::steady_clock::now();
    rig.nodes.at(1)->stop(9);
    auto settled = reply_to(*app, "k1", 60s);
    CHECK(code_of(settled) == "DEVICE_OFFLINE");
    REQUIRE(tunnel.wait_for(60s) == std::future_status::ready);
    auto answer = tunnel.get();
    CHECK(answer.status == 503);
    CHECK(answer.error_code() == "DEVICE_OFFLINE");
    MESSAGE("settled ", std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count(),
            " s after the robot's node was killed");
}

TEST_CASE("xroute: Redis killed: NODE_UNREACHABLE at once across nodes, while a same-node command still works")
{
    nodes_rig rig(2);
    auto robot = rig.robot_on(1);
    auto far = connect_app(rig.port(0), rig.owner);
    auto near = connect_app(rig.port(1), rig.owner);

    rig.redis.kill();
    // The node notices within its probe interval; commands until then may be lost in flight.
    std::string code;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int i = 0; code != "NODE_UNREACHABLE" && std::chrono::steady_clock::now() < deadline; ++i) {
        auto id = "r" + std::to_string(i);
        far->send(command(id));
        code = code_of(reply_to(*far, id, 1s));
    }
    CHECK(code == "NODE_UNREACHABLE");
    // Once known, at once.
    auto asked = std::chrono::steady_clock::now();
    far->send(command("r-now"));
    CHECK(code_of(reply_to(*far, "r-now", 5s)) == "NODE_UNREACHABLE");
    MESSAGE("NODE_UNREACHABLE answered in ",
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked).count(), " ms");

    near->send(command("same-node"));
    CHECK(type_of(reply_to(*near, "same-node")) == "ack");
    auto cmd = robot->expect("command");
    while (cmd.is_object() && cmd.at("id") != "same-node")
        cmd = robot->expect("command");
    REQUIRE(cmd.is_object());
    robot->send(json::object{{"type", "command_result"}, {"id", "same-node"}, {"ok", true}});
    CHECK(type_of(reply_to(*near, "same-node")) == "command_result");

    auto failed = http_call(rig.port(0), "GET", "/api/devices/xbot/rest/status", {},
                            {{"Authorization", "Bearer " + rig.owner.access_token}});
    CHECK(failed.status == 503);
    CHECK(failed.error_code() == "NODE_UNREACHABLE");
}
