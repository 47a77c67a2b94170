// WebRTC signaling through a real relayd (contract section 4): the whole flow, isolation
// between sessions, deadlines, cleanup when an end leaves, limits, and the stored history.
#include "support/barrier.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"
#include "support/webrtc_checks.hpp"

#include <relay/store/store.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

env_map webrtc_env(env_map extra = {})
{
    extra.try_emplace("RELAY_TURN_PROVIDER", "coturn");
    extra.try_emplace("RELAY_TURN_SECRET", "signaling-test-secret");
    extra.try_emplace("RELAY_TURN_URLS", "turns:127.0.0.1:5349,turn:127.0.0.1:3478");
    extra.try_emplace("RELAY_STUN_URLS", "stun:127.0.0.1:3478");
    return test_env(std::move(extra));
}

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

/** The one WebRTC session of cam-bot in the store at `db` (read after relayd stopped). */
relay::store::webrtc_session only_stored_session(std::string const& db)
{
    auto store = relay::store::open_store(db);
    REQUIRE(store.has_value());
    auto sessions = (*store)->list_sessions("cam-bot", 10);
    REQUIRE(sessions.has_value());
    REQUIRE(sessions->size() == 1);
    return sessions->front();
}

struct rig {
    relayd_process relayd;
    account owner;
    device_credentials dev;
    std::unique_ptr<ws_client> robot;
    std::unique_ptr<ws_client> app;
    explicit rig(env_map env = {})
        : relayd(webrtc_env(std::move(env))),
          owner(make_account(relayd.port())),
          dev(make_device(relayd.port(), owner, "cam-bot")),
          robot(connect_robot(relayd.port(), dev)),
          app(connect_app(relayd.port(), owner))
    {
    }
    /** Another account with `role` on the device, and its connected app. */
    std::pair<account, std::unique_ptr<ws_client>> member(std::string const& role)
    {
        auto a = make_account(relayd.port());
        share_device(relayd.port(), owner, "cam-bot", a, role);
        auto ws = connect_app(relayd.port(), a);
        return {std::move(a), std::move(ws)};
    }
    /** Requests a session; returns {app's webrtc_credentials, robot's webrtc_request}. */
    std::pair<json::value, json::value> request(ws_client& from, std::string const& id = "w1")
    {
        from.send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", id},
                               {"media", "both"}, {"quality", "high"}});
        auto creds = from.expect("webrtc_credentials");
        auto req = robot->expect("webrtc_request");
        return {creds, req};
    }
};

} // namespace

TEST_CASE("signaling: request, credentials to both ends, offer, answer, ice, stats, close")
{
    temp_dir dir;
    auto db = dir.path() + "/relay.db";
    std::string session_id;
    {
        rig r(env_map{{"RELAY_DATABASE", db}});
        auto [creds, req] = r.request(*r.app);
        REQUIRE(creds.is_object());
        REQUIRE(req.is_object());
        session_id = str(creds, "session_id");
        CHECK(session_id.size() >= 32);
        CHECK(str(creds, "device_id") == "cam-bot");
        CHECK(str(creds, "ref") == "w1");
        auto const& c = creds.at("credentials");
        // TURN REST credentials: "<expiry>:<subject>", UDP URL before TCP/TLS ones, STUN included.
        CHECK(str(c, "username").find(":" + r.owner.user_id) != std::string::npos);
        CHECK(c.at("urls").as_array()[0] == "turn:127.0.0.1:3478");
        CHECK(c.at("ttl") == 86400);
        CHECK(!c.at("ice_servers").as_array().empty());

        CHECK(str(req, "session_id") == session_id);
        CHECK(str(req, "from_user") == r.owner.user_id);
        CHECK(str(req, "media") == "both");
        CHECK(str(req, "quality") == "high");
        // The robot has its own credentials, under its own subject.
        CHECK(str(req.at("turn_credentials"), "username").find(":cam-bot") != std::string::npos);

        r.robot->send(json::object{{"type", "webrtc_offer"}, {"session_id", session_id},
                                   {"sdp", {{"type", "offer"}, {"sdp", "v=0 offer"}}}});
        auto offer = r.app->expect("webrtc_offer");
        CHECK(str(offer.at("sdp"), "sdp") == "v=0 offer");

        r.app->send(json::object{{"type", "webrtc_answer"}, {"session_id", session_id},
                                 {"sdp", {{"type", "answer"}, {"sdp", "v=0 answer"}}}});
        auto answer = r.robot->expect("webrtc_answer");
        CHECK(str(answer.at("sdp"), "type") == "answer");

        json::object candidate{{"candidate", "candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host"},
                               {"sdpMid", "0"}, {"sdpMLineIndex", 0}};
        r.robot->send(json::object{{"type", "webrtc_ice"}, {"session_id", session_id}, {"candidate", candidate}});
        CHECK(str(r.app->expect("webrtc_ice").at("candidate"), "sdpMid") == "0");
        r.app->send(json::object{{"type", "webrtc_ice"}, {"session_id", session_id}, {"candidate", nullptr}});
        CHECK(r.robot->expect("webrtc_ice").at("candidate").is_null()); // end of candidates

        r.app->send(json::object{{"type", "webrtc_stats"}, {"session_id", session_id}, {"state", "connected"},
                                 {"connection_type", "relay"}, {"rtt_ms", 42}});
        // The first connected report is the one recorded: make sure it is the app's.
        r.app->send(json::object{{"type", "ping"}, {"id", "first"}});
        CHECK(!r.app->expect("pong").is_null());
        r.robot->send(json::object{{"type", "webrtc_stats"}, {"session_id", session_id}, {"state", "connected"},
                                   {"connection_type", "relay"}});
        r.app->send(json::object{{"type", "ping"}, {"id", "sync"}});
        CHECK(!r.app->expect("pong").is_null());
        auto metrics = http_get(r.relayd.port(), "/metrics").body;
        CHECK(metrics.find("relay_webrtc_connections_total{type=\"relay\"} 1") != std::string::npos);
        CHECK(metrics.find("relay_webrtc_sessions_active 1") != std::string::npos);

        r.app->send(json::object{{"type", "webrtc_close"}, {"session_id", session_id}, {"reason", "user_hangup"}});
        auto closed = r.robot->expect("webrtc_close");
        CHECK(str(closed, "by") == "app");
        CHECK(str(closed, "reason") == "user_hangup");
        // The session is gone: more signaling for it is refused.
        r.robot->send(json::object{{"type", "webrtc_ice"}, {"session_id", session_id}, {"candidate", nullptr}});
        CHECK(str(r.robot->expect("error"), "code") == "SESSION_NOT_FOUND");
        CHECK(r.relayd.stop() == 0);
    }
    // The history survives in the store: who, device, connected, how, why it ended.
    auto const s = only_stored_session(db);
    CHECK(s.session_id == session_id);
    CHECK(s.connected_at.has_value());
    CHECK(s.ended_at.has_value());
    CHECK(s.connection_type == "relay");
    CHECK(s.end_reason == "user_hangup");
    CHECK(s.rtt_ms == 42);
}

TEST_CASE("signaling: relay from either end is the stored connection type, whichever end reported first")
{
    // aiortc answering a relay-only browser sees the browser's TURN address as peer-reflexive
    // and reports "host"; the media still goes through TURN.
    for (bool robot_first : {true, false}) {
        CAPTURE(robot_first);
        temp_dir dir;
        auto db = dir.path() + "/relay.db";
        {
            rig r(env_map{{"RELAY_DATABASE", db}});
            auto [creds, req] = r.request(*r.app);
            auto sid = str(creds, "session_id");
            auto report = [&](ws_client& end, char const* type) {
                end.send(json::object{{"type", "webrtc_stats"}, {"session_id", sid}, {"state", "connected"},
                                      {"connection_type", type}, {"rtt_ms", 7}});
                // A ping answered after the report: the report was handled before the next one.
                end.send(json::object{{"type", "ping"}, {"id", "after-report"}});
                CHECK(!end.expect("pong").is_null());
            };
            if (robot_first) {
                report(*r.robot, "host");
                report(*r.app, "relay");
            } else {
                report(*r.app, "relay");
                report(*r.robot, "host");
            }
            r.app->send(json::object{{"type", "webrtc_close"}, {"session_id", sid}, {"reason", "stopped"}});
            CHECK(!r.robot->expect("webrtc_close").is_null());
            CHECK(r.relayd.stop() == 0);
        }
        auto const s = only_stored_session(db);
        CHECK(s.connection_type == "relay");
        CHECK(s.connected_at.has_value());
    }
}

TEST_CASE("signaling: only the session's two ends may speak in it")
{
    rig r;
    auto [creds, req] = r.request(*r.app);
    auto sid = str(creds, "session_id");
    auto other_tab = connect_app(r.relayd.port(), r.owner); // same user, other connection
    auto stranger = make_account(r.relayd.port());
    auto stranger_dev = make_device(r.relayd.port(), stranger, "strange-bot");
    auto stranger_app = connect_app(r.relayd.port(), stranger);
    auto stranger_robot = connect_robot(r.relayd.port(), stranger_dev);

    json::object answer{{"type", "webrtc_answer"}, {"session_id", sid}, {"sdp", {{"type", "answer"}, {"sdp", "x"}}}};
    other_tab->send(answer);
    CHECK(str(other_tab->expect("error"), "code") == "SESSION_NOT_FOUND");
    stranger_app->send(answer);
    CHECK(str(stranger_app->expect("error"), "code") == "SESSION_NOT_FOUND");
    stranger_robot->send(json::object{{"type", "webrtc_offer"}, {"session_id", sid},
                                      {"sdp", {{"type", "offer"}, {"sdp", "evil"}}}});
    CHECK(str(stranger_robot->expect("error"), "code") == "SESSION_NOT_FOUND");
    r.app->send(json::object{{"type", "webrtc_close"}, {"session_id", "s_0000"}});
    CHECK(str(r.app->expect("error"), "code") == "SESSION_NOT_FOUND");
    // Nothing leaked to the real ends: every message above was answered, so anything routed to
    // the real ends is queued for them already, before their pongs.
    expect_nothing_before_pong(*r.robot, "webrtc_answer");
    expect_nothing_before_pong(*r.app, "webrtc_offer");
    // A stranger cannot even start a session on the device.
    stranger_app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", "x"}});
    CHECK(str(stranger_app->expect("error"), "code") == "DEVICE_NOT_FOUND");
}

TEST_CASE("signaling: viewers may watch")
{
    rig r;
    auto [viewer, viewer_app] = r.member("viewer");
    auto [creds, req] = r.request(*viewer_app, "v1");
    CHECK(creds.is_object());
    CHECK(str(req, "from_user") == viewer.user_id);
}

TEST_CASE("signaling: missing offer or answer ends the session from the relay")
{
    rig r(env_map{{"RELAY_WEBRTC_OFFER_TIMEOUT", "1"}, {"RELAY_WEBRTC_ANSWER_TIMEOUT", "1"}});
    auto [creds, req] = r.request(*r.app);
    auto to_app = r.app->expect("webrtc_close", 5s);
    auto to_robot = r.robot->expect("webrtc_close", 5s);
    CHECK(str(to_app, "by") == "relay");
    CHECK(str(to_app, "reason") == "offer_timeout");
    CHECK(str(to_robot, "reason") == "offer_timeout");

    auto [creds2, req2] = r.request(*r.app, "w2");
    r.robot->send(json::object{{"type", "webrtc_offer"}, {"session_id", creds2.at("session_id")},
                               {"sdp", {{"type", "offer"}, {"sdp", "o"}}}});
    CHECK(!r.app->expect("webrtc_offer").is_null());
    CHECK(str(r.app->expect("webrtc_close", 5s), "reason") == "answer_timeout");
}

TEST_CASE("signaling: an end that disconnects closes its sessions from the relay")
{
    rig r;
    auto [creds, req] = r.request(*r.app);
    r.app->close();
    auto closed = r.robot->expect("webrtc_close");
    CHECK(str(closed, "by") == "relay");
    CHECK(str(closed, "reason") == "app_disconnected");

    auto app2 = connect_app(r.relayd.port(), r.owner);
    auto [creds2, req2] = r.request(*app2, "w2");
    r.robot->close();
    auto closed2 = app2->expect("webrtc_close");
    CHECK(str(closed2, "by") == "relay");
    CHECK(str(closed2, "reason") == "robot_disconnected");
    auto metrics = http_get(r.relayd.port(), "/metrics").body;
    CHECK(metrics.find("relay_webrtc_sessions_active 0") != std::string::npos);
}

TEST_CASE("signaling: per-device session limit, offline robot, request rate limit")
{
    rig r(env_map{{"RELAY_WEBRTC_MAX_PER_DEVICE", "1"}, {"RELAY_WEBRTC_REQUESTS_PER_MIN", "3"}});
    auto [creds, req] = r.request(*r.app);
    r.app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", "w2"}});
    auto limit = r.app->expect("error");
    CHECK(str(limit, "code") == "SESSION_LIMIT");
    CHECK(str(limit, "ref") == "w2");
    r.app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", "w3"}});
    CHECK(str(r.app->expect("error"), "code") == "SESSION_LIMIT");
    r.app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", "w4"}});
    CHECK(str(r.app->expect("error"), "code") == "RATE_LIMITED");

    r.robot->close();
    auto app2 = connect_app(r.relayd.port(), r.owner);
    app2->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", "w5"}});
    CHECK(str(app2->expect("error"), "code") == "DEVICE_OFFLINE");
}

namespace {

/** Every message `ws` receives until the relay closes it, in order. */
std::vector<json::value> read_until_closed(ws_client& ws)
{
    std::vector<json::value> got;
    while (auto m = ws.read_json(10s))
        got.push_back(std::move(*m));
    return got;
}

/** The position of the first message of `type` (with `reason`, when given); -1 when none. */
long position_of(std::vector<json::value> const& messages, std::string const& type, std::string const& reason = {})
{
    for (std::size_t i = 0; i < messages.size(); ++i) {
        auto const& o = messages[i].as_object();
        if (o.at("type") == type.c_str() && (reason.empty() || (o.contains("reason") && o.at("reason") == reason.c_str())))
            return static_cast<long>(i);
    }
    return -1;
}

} // namespace

TEST_CASE("signaling: a member removed from the device hears webrtc_close (access_revoked) before the 4403 close")
{
    rig r;
    auto [member, member_app] = r.member("operator");
    auto [creds, req] = r.request(*member_app, "m1");
    auto sid = str(creds, "session_id");

    auto removed = http_delete(r.relayd.port(), "/api/devices/cam-bot/members/" + member.user_id, r.owner.access_token);
    REQUIRE(removed.status == 204);
    auto got = read_until_closed(*member_app);
    CAPTURE(json::serialize(json::value_from(got)));
    auto close_at = position_of(got, "webrtc_close", "access_revoked");
    auto error_at = position_of(got, "error");
    REQUIRE(close_at >= 0);
    CHECK(str(got[static_cast<std::size_t>(close_at)], "session_id") == sid);
    CHECK(str(got[static_cast<std::size_t>(close_at)], "by") == "relay");
    REQUIRE(error_at >= 0);
    CHECK(str(got[static_cast<std::size_t>(error_at)], "code") == "FORBIDDEN");
    CHECK(close_at < error_at);
    CHECK(member_app->close_code() == 4403);
    // The robot is told too, and the owner's own connection is untouched.
    CHECK(str(r.robot->expect("webrtc_close"), "reason") == "access_revoked");
    r.app->send(json::object{{"type", "ping"}, {"id", "still-here"}});
    CHECK(!r.app->expect("pong").is_null());
}

TEST_CASE("signaling: a deleted device's sessions end as access_revoked before the 4403 close")
{
    rig r;
    auto [creds, req] = r.request(*r.app, "d1");
    auto sid = str(creds, "session_id");
    REQUIRE(http_delete(r.relayd.port(), "/api/devices/cam-bot", r.owner.access_token).status == 204);
    auto got = read_until_closed(*r.app);
    CAPTURE(json::serialize(json::value_from(got)));
    auto close_at = position_of(got, "webrtc_close");
    auto error_at = position_of(got, "error");
    REQUIRE(close_at >= 0);
    CHECK(str(got[static_cast<std::size_t>(close_at)], "session_id") == sid);
    CHECK(str(got[static_cast<std::size_t>(close_at)], "reason") == "access_revoked");
    REQUIRE(error_at >= 0);
    CHECK(close_at < error_at);
    CHECK(r.app->close_code() == 4403);
}

TEST_CASE("signaling: an owner's account deleted mid-session ends the session for the robot before its 4403 close")
{
    rig r;
    auto [creds, req] = r.request(*r.app, "d1");
    auto sid = str(creds, "session_id");
    // DELETE /api/account with the password fixtures.cpp registers accounts with.
    auto done = http_call(r.relayd.port(), "DELETE", "/api/account", R"({"password":"correct horse battery"})",
                          {{"Authorization", "Bearer " + r.owner.access_token}});
    REQUIRE(done.status == 204);
    auto got = read_until_closed(*r.robot);
    CAPTURE(json::serialize(json::value_from(got)));
    auto close_at = position_of(got, "webrtc_close", "access_revoked");
    REQUIRE(close_at >= 0);
    CHECK(str(got[static_cast<std::size_t>(close_at)], "session_id") == sid);
    CHECK(r.robot->close_code() == 4403);
    CHECK(r.app->wait_closed() == 4401);
}

TEST_CASE("signaling: webrtc_stats with an rtt_ms beyond any integer is refused and never stored")
{
    temp_dir dir;
    auto db = dir.path() + "/relay.db";
    {
        rig r(env_map{{"RELAY_DATABASE", db}});
        auto [creds, req] = r.request(*r.app);
        auto sid = str(creds, "session_id");
        for (double rtt : {1e19, 9223372036854775808.0, -1e19}) {
            CAPTURE(rtt);
            r.app->send(json::object{{"type", "webrtc_stats"}, {"session_id", sid}, {"state", "connected"},
                                     {"connection_type", "relay"}, {"rtt_ms", rtt}});
            auto err = r.app->expect("error");
            REQUIRE(err.is_object());
            CHECK(str(err, "code") == "BAD_MESSAGE");
            CHECK(str(err, "message").find("rtt_ms") != std::string::npos);
        }
        r.robot->send(json::object{{"type", "webrtc_stats"}, {"session_id", sid}, {"state", "connected"},
                                   {"connection_type", "host"}, {"rtt_ms", 1e19}});
        CHECK(str(r.robot->expect("error"), "code") == "BAD_MESSAGE");
        // A report in range is still recorded.
        r.robot->send(json::object{{"type", "webrtc_stats"}, {"session_id", sid}, {"state", "connected"},
                                   {"connection_type", "host"}, {"rtt_ms", 12.6}});
        round_trip(*r.robot);
        r.app->send(json::object{{"type", "webrtc_close"}, {"session_id", sid}});
        CHECK(!r.robot->expect("webrtc_close").is_null());
        CHECK(r.relayd.stop() == 0);
    }
    auto const s = only_stored_session(db);
    CHECK(s.connection_type == "host");
    CHECK(s.rtt_ms == 13); // rounded, never a wrapped 1e19
}

// --- renewal: make-before-break (docs/protocol.md decision 28) ---------------------------------

namespace {

/** Asks for a session replacing `old_id`; returns {app's webrtc_credentials, robot's webrtc_request}. */
std::pair<json::value, json::value> renew(rig& r, std::string const& old_id, std::string const& id)
{
    r.app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", id}, {"replaces", old_id}});
    auto creds = r.app->expect("webrtc_credentials");
    auto req = r.robot->expect("webrtc_request");
    return {creds, req};
}

/** The error `ws` gets for a request replacing `old_id` on `device_id`. */
json::value refused_renewal(ws_client& ws, std::string const& device_id, std::string const& old_id, std::string const& id)
{
    ws.send(json::object{{"type", "webrtc_request"}, {"device_id", device_id}, {"id", id}, {"replaces", old_id}});
    return ws.expect("error");
}

/** A candidate from the app in `session_id` reaches the robot: the session is live. */
void check_live(rig& r, std::string const& session_id)
{
    r.app->send(json::object{{"type", "webrtc_ice"}, {"session_id", session_id}, {"candidate", nullptr}});
    auto ice = r.robot->expect("webrtc_ice");
    REQUIRE(ice.is_object());
    CHECK(str(ice, "session_id") == session_id);
}

} // namespace

TEST_CASE("renewal: an app replaces its own session, the robot hears replaces; without it nobody sees the field")
{
    rig r;
    auto [creds, req] = r.request(*r.app);
    REQUIRE(req.is_object());
    auto const old_id = str(creds, "session_id");
    // Old apps and robots: no replaces anywhere.
    CHECK_FALSE(req.as_object().contains("replaces"));
    CHECK_FALSE(creds.as_object().contains("replaces"));

    auto [creds2, req2] = renew(r, old_id, "r1");
    REQUIRE(creds2.is_object());
    REQUIRE(req2.is_object());
    auto const new_id = str(creds2, "session_id");
    CHECK(new_id != old_id);
    CHECK(str(creds2, "ref") == "r1");
    CHECK(str(req2, "session_id") == new_id);
    CHECK(str(req2, "replaces") == old_id);
    CHECK(str(req2.at("turn_credentials"), "username").find(":cam-bot") != std::string::npos);
    // Both sessions are live until one end closes the old one.
    check_live(r, old_id);
    check_live(r, new_id);
}

TEST_CASE("renewal: replaces must name a live session of this connection with this device")
{
    rig r;
    auto second = make_device(r.relayd.port(), r.owner, "cam-bot-2");
    auto second_robot = connect_robot(r.relayd.port(), second);
    r.app = connect_app(r.relayd.port(), r.owner); // a connection that knows both devices
    auto [creds, req] = r.request(*r.app);
    auto const mine = str(creds, "session_id");
    r.app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot-2"}, {"id", "o1"}});
    auto const on_other_device = str(r.app->expect("webrtc_credentials"), "session_id");
    REQUIRE(!second_robot->expect("webrtc_request").is_null());

    auto unknown = refused_renewal(*r.app, "cam-bot", "s_0000", "x1");
    CHECK(str(unknown, "code") == "SESSION_NOT_FOUND");
    CHECK(str(unknown, "ref") == "x1");
    CHECK(str(refused_renewal(*r.app, "cam-bot", on_other_device, "x2"), "code") == "SESSION_NOT_FOUND");
    auto other_tab = connect_app(r.relayd.port(), r.owner); // same user, another connection
    CHECK(str(refused_renewal(*other_tab, "cam-bot", mine, "x3"), "code") == "SESSION_NOT_FOUND");
    r.app->send(json::object{{"type", "webrtc_close"}, {"session_id", mine}});
    REQUIRE(!r.robot->expect("webrtc_close").is_null());
    CHECK(str(refused_renewal(*r.app, "cam-bot", mine, "x4"), "code") == "SESSION_NOT_FOUND");
    // No robot heard of any refused request.
    expect_nothing_before_pong(*r.robot, "webrtc_request");
    expect_nothing_before_pong(*second_robot, "webrtc_request");
}

TEST_CASE("renewal: at the per-device limit a replacement is accepted, a plain request is not")
{
    rig r(env_map{{"RELAY_WEBRTC_MAX_PER_DEVICE", "1"}});
    auto [creds, req] = r.request(*r.app);
    auto const a = str(creds, "session_id");
    r.app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", "p1"}});
    CHECK(str(r.app->expect("error"), "code") == "SESSION_LIMIT");
    auto [creds_b, req_b] = renew(r, a, "r1");
    REQUIRE(creds_b.is_object());
    auto const b = str(creds_b, "session_id");
    // The same session replaced twice would be a free session: the second one counts.
    CHECK(str(refused_renewal(*r.app, "cam-bot", a, "r2"), "code") == "SESSION_LIMIT");
    // A renewal of the renewal (sessions over hours) is accepted too.
    auto [creds_c, req_c] = renew(r, b, "r3");
    REQUIRE(req_c.is_object());
    CHECK(str(req_c, "replaces") == b);
    r.app->send(json::object{{"type", "webrtc_close"}, {"session_id", a}, {"reason", "replaced"}});
    REQUIRE(!r.robot->expect("webrtc_close").is_null());
    r.app->send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", "p2"}});
    CHECK(str(r.app->expect("error"), "code") == "SESSION_LIMIT");
    expect_nothing_before_pong(*r.robot, "webrtc_request");
}

TEST_CASE("renewal: the relay closes the replaced session after the grace once the new one connected")
{
    temp_dir dir;
    auto db = dir.path() + "/relay.db";
    std::string old_id, new_id;
    {
        rig r(env_map{{"RELAY_DATABASE", db}, {"RELAY_WEBRTC_REPLACE_GRACE", "1"}});
        auto [creds, req] = r.request(*r.app);
        old_id = str(creds, "session_id");
        auto [creds2, req2] = renew(r, old_id, "r1");
        new_id = str(creds2, "session_id");
        r.app->send(json::object{{"type", "webrtc_stats"}, {"session_id", new_id}, {"state", "connected"},
                                 {"connection_type", "relay"}});
        expect_relay_close(*r.app, old_id, "replaced");
        expect_relay_close(*r.robot, old_id, "replaced");
        check_live(r, new_id);
        auto metrics = http_get(r.relayd.port(), "/metrics").body;
        CHECK(metrics.find("relay_webrtc_sessions_renewed_total 1") != std::string::npos);
        CHECK(metrics.find("relay_webrtc_sessions_ended_total{by=\"relay\",reason=\"replaced\"} 1") != std::string::npos);
        CHECK(metrics.find("relay_webrtc_sessions_active 1") != std::string::npos);
        CHECK(r.relayd.stop() == 0);
    }
    auto store = relay::store::open_store(db);
    REQUIRE(store.has_value());
    auto sessions = (*store)->list_sessions("cam-bot", 10);
    REQUIRE(sessions.has_value());
    REQUIRE(sessions->size() == 2);
    for (auto const& s : *sessions) {
        CAPTURE(s.session_id);
        if (s.session_id == old_id)
            CHECK(s.end_reason == "replaced");
        else
            CHECK(s.session_id == new_id);
    }
}

TEST_CASE("renewal: a replacement that ends before connecting leaves the old session untouched")
{
    // The grace (1 s) passes before the new session's offer deadline (1 s, swept once a second)
    // ends it: a relay counting the grace from the request would have closed the old one by then.
    rig r(env_map{{"RELAY_WEBRTC_REPLACE_GRACE", "1"}, {"RELAY_WEBRTC_OFFER_TIMEOUT", "1"},
                  {"RELAY_WEBRTC_ANSWER_TIMEOUT", "600"}});
    auto [creds, req] = r.request(*r.app);
    auto const old_id = str(creds, "session_id");
    // The old session is past its offer, so only the new one has a deadline.
    r.robot->send(json::object{{"type", "webrtc_offer"}, {"session_id", old_id}, {"sdp", {{"type", "offer"}, {"sdp", "o"}}}});
    REQUIRE(!r.app->expect("webrtc_offer").is_null());
    r.app->send(json::object{{"type", "webrtc_answer"}, {"session_id", old_id}, {"sdp", {{"type", "answer"}, {"sdp", "a"}}}});
    REQUIRE(!r.robot->expect("webrtc_answer").is_null());

    auto [creds2, req2] = renew(r, old_id, "r1");
    auto const failed = str(creds2, "session_id");
    expect_relay_close(*r.app, failed, "offer_timeout");
    expect_nothing_before_pong(*r.app, "webrtc_close");
    check_live(r, old_id);

    // The app tries again and closes that one itself before it connects: the old one stays too.
    auto [creds3, req3] = renew(r, old_id, "r2");
    r.app->send(json::object{{"type", "webrtc_close"}, {"session_id", creds3.at("session_id")}, {"reason", "gave_up"}});
    CHECK(str(r.robot->expect("webrtc_close"), "reason") == "gave_up");
    check_live(r, old_id);
}
