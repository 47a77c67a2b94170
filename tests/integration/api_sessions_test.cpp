// GET /api/devices/{id}/sessions (docs/api.md, "Session history"): the history of real sessions
// signalled through /ws/app, who may read which rows, and the `limit` parameter.
#include "cluster/eventually.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;

namespace {

/** The sessions `who` reads; REQUIREs 200 and an array. */
json::array sessions_of(std::uint16_t port, account const& who, std::string const& query = {})
{
    auto r = http_get(port, "/api/devices/cam-bot/sessions" + query, who.access_token);
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    REQUIRE(r.json().is_array());
    return r.json().as_array();
}

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

/** Requests a session of cam-bot from `app`; returns its id once the robot has the request. */
std::string start_session(ws_client& app, ws_client& robot, std::string const& id)
{
    app.send(json::object{{"type", "webrtc_request"}, {"device_id", "cam-bot"}, {"id", id}});
    auto creds = app.expect("webrtc_credentials");
    CHECK(str(robot.expect("webrtc_request"), "session_id") == str(creds, "session_id"));
    return str(creds, "session_id");
}

/** A relay that issues TURN credentials (a webrtc_request needs them; no TURN server is used),
 * cam-bot's owner, the robot and the owner's app, connected. */
struct history_relay {
    relayd_process relayd{test_env({{"RELAY_TURN_PROVIDER", "coturn"},
                                    {"RELAY_TURN_SECRET", "history-test-secret"},
                                    {"RELAY_TURN_URLS", "turn:127.0.0.1:3478"}})};
    std::uint16_t port = relayd.port();
    account owner = make_account(port, "owner");
    device_credentials dev = make_device(port, owner, "cam-bot");
    std::unique_ptr<ws_client> robot = connect_robot(port, dev);
    std::unique_ptr<ws_client> owner_app = connect_app(port, owner);
};

} // namespace

TEST_CASE("session history: the owner sees every session, a member only their own, a stranger nothing")
{
    history_relay h;
    auto& [relayd, port, owner, dev, robot, owner_app] = h;
    auto viewer = make_account(port, "viewer");
    share_device(port, owner, "cam-bot", viewer, "viewer");
    auto viewer_app = connect_app(port, viewer);
    auto stranger = make_account(port, "stranger");

    // Nothing yet.
    CHECK(sessions_of(port, owner).empty());

    // The owner's session: connected through TURN, then hung up.
    auto ended = start_session(*owner_app, *robot, "w1");
    owner_app->send(json::object{{"type", "webrtc_stats"}, {"session_id", ended}, {"state", "connected"},
                                 {"connection_type", "relay"}, {"rtt_ms", 42}});
    owner_app->send(json::object{{"type", "webrtc_close"}, {"session_id", ended}, {"reason", "user_hangup"}});
    CHECK(str(robot->expect("webrtc_close"), "reason") == "user_hangup");
    // The viewer's session, still live.
    auto live = start_session(*viewer_app, *robot, "w2");

    // History is written behind the signalling: wait until both rows are there, the first ended.
    json::array all;
    REQUIRE(eventually([&] {
        all = sessions_of(port, owner);
        return all.size() == 2 && !all[1].at("ended_at").is_null();
    }));
    auto const& newest = all[0].as_object();
    auto const& oldest = all[1].as_object();
    CHECK(str(newest, "session_id") == live);
    CHECK(str(newest, "user_id") == viewer.user_id);
    CHECK(newest.at("started_at").is_int64());
    CHECK(newest.at("connected_at").is_null());
    CHECK(newest.at("ended_at").is_null());
    CHECK(newest.at("duration_s").is_null());
    CHECK(newest.at("connection_type").is_null());
    CHECK(newest.at("rtt_ms").is_null());
    CHECK(newest.at("end_reason").is_null());
    CHECK(newest.at("live") == true);

    CHECK(str(oldest, "session_id") == ended);
    CHECK(str(oldest, "user_id") == owner.user_id);
    CHECK(str(oldest, "connection_type") == "relay");
    CHECK(oldest.at("rtt_ms") == 42);
    CHECK(str(oldest, "end_reason") == "user_hangup");
    CHECK(oldest.at("live") == false);
    auto const connected_at = oldest.at("connected_at").as_int64();
    auto const ended_at = oldest.at("ended_at").as_int64();
    CHECK(connected_at >= oldest.at("started_at").as_int64());
    CHECK(oldest.at("duration_s") == ended_at - connected_at);

    // A viewer sees only their own session.
    auto mine = sessions_of(port, viewer);
    REQUIRE(mine.size() == 1);
    CHECK(str(mine[0], "session_id") == live);

    // A stranger, an unknown device and no token learn nothing.
    auto r = http_get(port, "/api/devices/cam-bot/sessions", stranger.access_token);
    CHECK(r.status == 404);
    CHECK(str(r.json().at("error"), "code") == "DEVICE_NOT_FOUND");
    CHECK(http_get(port, "/api/devices/no-such-bot/sessions", owner.access_token).status == 404);
    CHECK(http_get(port, "/api/devices/cam-bot/sessions").status == 401);

    // The live one ends when its app leaves, and says so.
    viewer_app->close();
    REQUIRE(eventually([&] { return sessions_of(port, viewer).at(0).at("live") == false; }));
    CHECK(!sessions_of(port, viewer).at(0).at("end_reason").is_null());
}

TEST_CASE("session history: limit is 1 to 200, 50 by default, newest first")
{
    history_relay h;
    auto& [relayd, port, owner, dev, robot, app] = h;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(start_session(*app, *robot, "w" + std::to_string(i)));
        app->send(json::object{{"type", "webrtc_close"}, {"session_id", ids.back()}});
        robot->expect("webrtc_close");
    }
    REQUIRE(eventually([&] { return sessions_of(port, owner).size() == 3; }));
    auto two = sessions_of(port, owner, "?limit=2");
    REQUIRE(two.size() == 2);
    CHECK(str(two[0], "session_id") == ids[2]);
    CHECK(str(two[1], "session_id") == ids[1]);
    CHECK(sessions_of(port, owner, "?limit=1").size() == 1);
    CHECK(sessions_of(port, owner, "?limit=200").size() == 3);
    for (std::string bad : {"0", "-1", "201", "abc", "1.5", "", "99999999999999999999"}) {
        CAPTURE(bad);
        auto r = http_get(port, "/api/devices/cam-bot/sessions?limit=" + bad, owner.access_token);
        CHECK(r.status == 400);
        CHECK(str(r.json().at("error"), "code") == "BAD_MESSAGE");
    }
}
