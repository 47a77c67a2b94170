// /ws/app and /ws/device against a real relayd (contract sections 3, 6 and 7): authentication,
// routing, isolation, presence, commands, resume, replacement and membership changes.
#include "support/barrier.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <relay/auth/device_auth.hpp>
#include <relay/auth/jwt.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <thread>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

json::object robot_event(std::string name, json::value data = json::object{})
{
    return {{"type", "event"}, {"event", std::move(name)}, {"data", std::move(data)}};
}

} // namespace

TEST_CASE("app authentication: header, query parameter and first message")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "wimz-001", "Kitchen");

    json::value ok;
    auto by_header = connect_app(relayd.port(), owner, &ok);
    CHECK(ok.at("protocol") == 1);
    CHECK(str(ok, "user_id") == owner.user_id);
    REQUIRE(ok.at("devices").as_array().size() == 1);
    auto const& d = ok.at("devices").as_array()[0];
    CHECK(str(d, "device_id") == "wimz-001");
    CHECK(str(d, "name") == "Kitchen");
    CHECK(str(d, "role") == "owner");
    CHECK(d.at("online") == false);

    ws_client by_query(relayd.port(), "/ws/app?token=" + owner.access_token);
    CHECK(!by_query.expect("auth_ok").is_null());

    ws_client by_message(relayd.port(), "/ws/app");
    by_message.send(json::object{{"type", "auth"}, {"token", owner.access_token}});
    auto first = by_message.expect("auth_ok");
    CHECK(str(first, "user_id") == owner.user_id);

    // The robot coming online shows in a later auth_ok.
    auto robot = connect_robot(relayd.port(), dev);
    json::value ok2;
    auto later = connect_app(relayd.port(), owner, &ok2);
    CHECK(ok2.at("devices").as_array()[0].at("online") == true);
}

TEST_CASE("app authentication failures: error, then close 4401")
{
    relayd_process relayd(test_env({{"RELAY_AUTH_TIMEOUT", "1"}, {"RELAY_JWT_SECRET", std::string(40, 'k')}}));

    ws_client bad(relayd.port(), "/ws/app", {{"Authorization", "Bearer not-a-token"}});
    auto err = bad.expect("error");
    CHECK(str(err, "code") == "UNAUTHORIZED");
    CHECK(bad.wait_closed() == 4401);

    // An expired token says so.
    relay::auth::jwt_codec codec(std::string(40, 'k'));
    auto claims = relay::auth::make_claims("u_someone", std::chrono::system_clock::now() - 2h, 1h);
    ws_client expired(relayd.port(), "/ws/app?token=" + codec.sign(claims));
    CHECK(str(expired.expect("error"), "code") == "TOKEN_EXPIRED");
    CHECK(expired.wait_closed() == 4401);

    // Anything but auth as the first message.
    ws_client rude(relayd.port(), "/ws/app");
    rude.send(json::object{{"type", "ping"}});
    CHECK(str(rude.expect("error"), "code") == "UNAUTHORIZED");
    CHECK(rude.wait_closed() == 4401);

    // Silence past the deadline.
    ws_client silent(relayd.port(), "/ws/app");
    auto timeout_err = silent.expect("error", 3s);
    CHECK(str(timeout_err, "code") == "UNAUTHORIZED");
    CHECK(silent.wait_closed() == 4401);
}

TEST_CASE("robot challenge-response: same answer for unknown device and bad signature")
{
    relayd_process relayd(test_env({{"RELAY_AUTH_TIMEOUT", "1"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner);

    auto attempt = [&](std::string const& device_id, std::string const& secret) {
        ws_client ws(relayd.port(), "/ws/device");
        auto challenge = ws.expect("auth_challenge");
        REQUIRE(!challenge.is_null());
        auto nonce = str(challenge, "nonce");
        CHECK(nonce.size() == 43); // base64url of 32 bytes
        ws.send(json::object{{"type", "auth"}, {"device_id", device_id},
                             {"signature", relay::auth::device_signature(secret, nonce, device_id)}});
        auto reply = ws.read_json();
        REQUIRE(reply);
        std::string type = str(*reply, "type");
        if (type == "auth_ok") {
            CHECK(str(*reply, "device_id") == device_id);
            CHECK(reply->at("protocol") == 1);
            return std::pair<std::string, std::uint16_t>{"auth_ok", 0};
        }
        auto code = ws.wait_closed();
        return std::pair<std::string, std::uint16_t>{type + ":" + str(*reply, "code"), code};
    };
    CHECK(attempt(dev.device_id, dev.secret).first == "auth_ok");
    auto bad_sig = attempt(dev.device_id, "wrong-secret");
    auto unknown = attempt("no-such-robot", "whatever");
    CHECK(bad_sig.first == "error:UNAUTHORIZED");
    CHECK(bad_sig.second == 4401);
    CHECK(unknown == bad_sig);

    // A robot that never answers the challenge.
    ws_client mute(relayd.port(), "/ws/device");
    CHECK(!mute.expect("auth_challenge").is_null());
    CHECK(str(mute.expect("error", 3s), "code") == "UNAUTHORIZED");
    CHECK(mute.wait_closed() == 4401);
}

TEST_CASE("bad device signatures are slowed down but never lock the real robot out")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner);
    // A stranger guesses from the test's own address, the address the real robot uses next:
    // more guesses than the old lockout allowed, each answered later than the one before.
    std::chrono::steady_clock::duration last_answer{};
    for (int i = 0; i < 6; ++i) {
        ws_client ws(relayd.port(), "/ws/device");
        auto nonce = str(ws.expect("auth_challenge"), "nonce");
        auto sent = std::chrono::steady_clock::now();
        ws.send(json::object{{"type", "auth"}, {"device_id", dev.device_id},
                             {"signature", relay::auth::device_signature("guess", nonce, dev.device_id)}});
        auto err = ws.expect("error", 15s);
        last_answer = std::chrono::steady_clock::now() - sent;
        CHECK(str(err, "code") == "UNAUTHORIZED");
        CHECK(ws.wait_closed() == 4401);
    }
    // The sixth failure of this device and address is held back for seconds (3 s by default);
    // only a lower bound is checked, which a slow machine can only exceed.
    CHECK(last_answer >= 1500ms);

    // The real robot, from the same address, is accepted at once: a correct signature always is.
    ws_client robot(relayd.port(), "/ws/device");
    auto robot_nonce = str(robot.expect("auth_challenge"), "nonce");
    robot.send(json::object{{"type", "auth"}, {"device_id", dev.device_id},
                            {"signature", relay::auth::device_signature(dev.secret, robot_nonce, dev.device_id)}});
    auto ok = robot.read_json();
    REQUIRE(ok);
    CHECK(str(*ok, "type") == "auth_ok");

    // An unknown device id gets the same answer as a bad signature, delayed the same way.
    ws_client unknown(relayd.port(), "/ws/device");
    auto nonce = str(unknown.expect("auth_challenge"), "nonce");
    unknown.send(json::object{{"type", "auth"}, {"device_id", "no-such-robot"},
                              {"signature", relay::auth::device_signature("guess", nonce, "no-such-robot")}});
    CHECK(str(unknown.expect("error", 15s), "code") == "UNAUTHORIZED");
    CHECK(unknown.wait_closed() == 4401);
}

TEST_CASE("events reach every app with access, stamped, in order; strangers see nothing")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto viewer = make_account(relayd.port());
    auto stranger = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "wimz-001");
    make_device(relayd.port(), stranger, "other-robot");
    share_device(relayd.port(), owner, dev.device_id, viewer, "viewer");

    auto owner_app = connect_app(relayd.port(), owner);
    auto owner_app2 = connect_app(relayd.port(), owner);
    auto viewer_app = connect_app(relayd.port(), viewer);
    auto stranger_app = connect_app(relayd.port(), stranger);

    auto robot = connect_robot(relayd.port(), dev);
    for (auto* app : {owner_app.get(), owner_app2.get(), viewer_app.get()}) {
        auto presence = app->expect("event");
        CHECK(str(presence, "event") == "robot_connected");
        CHECK(str(presence, "device_id") == "wimz-001");
        CHECK(!presence.as_object().contains("seq"));
        CHECK(presence.as_object().contains("ts"));
    }

    // Every event name is forwarded, data untouched, whatever robots add later.
    std::vector<std::string> names = {"mission_progress", "mode_changed", "bark_detected", "dog_detected",
                                      "treat_dispensed", "battery", "status_update", "alert", "photo",
                                      "audio_message", "something.new-2"};
    for (std::size_t i = 0; i < names.size(); ++i)
        robot->send(robot_event(names[i], json::object{{"i", i}, {"nested", json::array{1, "two", nullptr}}}));

    for (auto* app : {owner_app.get(), owner_app2.get(), viewer_app.get()}) {
        std::uint64_t prev = 0;
        for (std::size_t i = 0; i < names.size(); ++i) {
            auto e = app->expect("event");
            REQUIRE(!e.is_null());
            CHECK(str(e, "event") == names[i]);
            CHECK(str(e, "device_id") == "wimz-001");
            CHECK(e.at("data").at("i") == i);
            CHECK(e.at("data").at("nested").as_array().size() == 3);
            auto seq = e.at("seq").to_number<std::uint64_t>();
            if (prev) CHECK(seq == prev + 1);
            prev = seq;
            auto ts = str(e, "ts");
            CHECK(ts.size() == 24);
            CHECK(ts.back() == 'Z');
        }
    }
    // The robot's events have all been routed once it has its pong; any routed to the stranger
    // would come before the stranger's own pong.
    round_trip(*robot);
    expect_nothing_before_pong(*stranger_app);

    robot->close();
    auto gone = owner_app->expect("event");
    CHECK(str(gone, "event") == "robot_disconnected");
}

TEST_CASE("commands: ack, routed to the robot, result back to the sending app only")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto op = make_account(relayd.port());
    auto viewer = make_account(relayd.port());
    auto stranger = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "wimz-002");
    share_device(relayd.port(), owner, dev.device_id, op, "operator");
    share_device(relayd.port(), owner, dev.device_id, viewer, "viewer");

    auto op_app = connect_app(relayd.port(), op);
    auto op_other = connect_app(relayd.port(), op);
    auto viewer_app = connect_app(relayd.port(), viewer);
    auto stranger_app = connect_app(relayd.port(), stranger);

    // Offline robot.
    op_app->send(json::object{{"type", "command"}, {"device_id", "wimz-002"}, {"id", "c0"}, {"command", "sit"}});
    auto offline = op_app->expect("error");
    CHECK(str(offline, "code") == "DEVICE_OFFLINE");
    CHECK(str(offline, "ref") == "c0");

    auto robot = connect_robot(relayd.port(), dev);
    op_app->send(json::object{{"type", "command"}, {"device_id", "wimz-002"}, {"id", "c1"},
                              {"command", "start_mission"}, {"data", {{"mission", "patrol"}}}});
    auto ack = op_app->expect("ack");
    CHECK(str(ack, "ref") == "c1");
    CHECK(str(ack, "device_id") == "wimz-002");
    auto cmd = robot->expect("command");
    CHECK(str(cmd, "id") == "c1");
    CHECK(str(cmd, "from_user") == op.user_id);
    CHECK(str(cmd, "command") == "start_mission");
    CHECK(str(cmd.at("data"), "mission") == "patrol");

    robot->send(json::object{{"type", "command_result"}, {"id", "c1"}, {"ok", true}, {"data", {{"started", true}}}});
    auto result = op_app->expect("command_result");
    CHECK(str(result, "id") == "c1");
    CHECK(result.at("ok") == true);
    CHECK(str(result, "device_id") == "wimz-002");
    CHECK(result.at("data").at("started") == true);
    round_trip(*robot);
    expect_nothing_before_pong(*op_other, "command_result");

    // A result for an unknown id goes nowhere and breaks nothing.
    robot->send(json::object{{"type", "command_result"}, {"id", "nope"}, {"ok", false}});

    // A viewer may not command; a stranger cannot even see the device.
    viewer_app->send(json::object{{"type", "command"}, {"device_id", "wimz-002"}, {"id", "v1"}, {"command", "sit"}});
    auto forbidden = viewer_app->expect("error");
    CHECK(str(forbidden, "code") == "FORBIDDEN");
    CHECK(str(forbidden, "ref") == "v1");
    stranger_app->send(json::object{{"type", "command"}, {"device_id", "wimz-002"}, {"id", "s1"}, {"command", "sit"}});
    auto hidden = stranger_app->expect("error");
    CHECK(str(hidden, "code") == "DEVICE_NOT_FOUND");
    CHECK(str(hidden, "ref") == "s1");
    // Both were answered, so had either command been forwarded, it would be queued for the robot
    // already, before the pong.
    expect_nothing_before_pong(*robot, "command");

    // The owner may command too; a robot that leaves before answering fails the command at once.
    auto owner_app = connect_app(relayd.port(), owner);
    owner_app->send(json::object{{"type", "command"}, {"device_id", "wimz-002"}, {"id", "c2"}, {"command", "sit"}});
    CHECK(!owner_app->expect("ack").is_null());
    CHECK(!robot->expect("command").is_null());
    robot->close();
    auto lost = owner_app->expect("error");
    CHECK(str(lost, "code") == "DEVICE_OFFLINE");
    CHECK(str(lost, "ref") == "c2");
}

TEST_CASE("an app sees a robot's command results and events in the order the robot sent them")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner);
    // Several app connections, so some share the robot's relay thread and some do not.
    std::vector<std::unique_ptr<ws_client>> apps;
    for (int i = 0; i < 4; ++i)
        apps.push_back(connect_app(relayd.port(), owner));
    auto robot = connect_robot(relayd.port(), dev);
    for (auto& app : apps)
        CHECK(str(app->expect("event"), "event") == "robot_connected");

    constexpr int n = 20;
    for (std::size_t a = 0; a < apps.size(); ++a)
        for (int i = 0; i < n; ++i)
            apps[a]->send(json::object{{"type", "command"}, {"device_id", dev.device_id},
                                       {"id", "a" + std::to_string(a) + "c" + std::to_string(i)}, {"command", "sit"}});
    std::vector<std::string> ids;
    for (std::size_t k = 0; k < apps.size() * n; ++k)
        ids.push_back(str(robot->expect("command"), "id"));
    // Each result is followed at once by an event; every app must see them interleaved as sent.
    for (auto const& id : ids) {
        robot->send(json::object{{"type", "command_result"}, {"id", id}, {"ok", true}});
        robot->send(json::object{{"type", "event"}, {"event", "after_result"}, {"data", {{"id", id}}}});
    }
    for (std::size_t a = 0; a < apps.size(); ++a) {
        std::string last_result;
        int results = 0, events = 0;
        while (events < static_cast<int>(ids.size())) {
            auto m = apps[a]->read_json();
            REQUIRE(m.has_value());
            auto type = str(*m, "type");
            if (type == "ack")
                continue;
            if (type == "command_result") {
                last_result = str(*m, "id");
                ++results;
                continue;
            }
            REQUIRE(type == "event");
            auto id = str(m->at("data"), "id");
            // This app's own results come before the event the robot sent right after them.
            if (id.starts_with("a" + std::to_string(a) + "c"))
                CHECK(last_result == id);
            ++events;
        }
        CHECK(results == n);
    }
}

TEST_CASE("resume replays what an app missed, and says when it cannot")
{
    relayd_process relayd(test_env({{"RELAY_REPLAY_MAX_EVENTS", "5"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "wimz-003");
    auto robot = connect_robot(relayd.port(), dev);

    auto app = connect_app(relayd.port(), owner);
    robot->send(robot_event("battery", {{"level", 1}}));
    auto first = app->expect("event");
    auto seen = first.at("seq").to_number<std::uint64_t>();
    app->close();

    // Missed while away: three events, all still buffered.
    for (int i = 2; i <= 4; ++i)
        robot->send(robot_event("battery", {{"level", i}}));
    round_trip(*robot); // the relay has taken the events in

    auto back = connect_app(relayd.port(), owner);
    back->send(json::object{{"type", "resume"}, {"device_id", "wimz-003"}, {"after_seq", seen}});
    for (int i = 2; i <= 4; ++i) {
        auto e = back->expect("event");
        CHECK(e.at("seq").to_number<std::uint64_t>() == seen + (i - 1));
        CHECK(e.at("data").at("level") == i);
    }
    auto resumed = back->expect("resumed");
    CHECK(str(resumed, "device_id") == "wimz-003");
    CHECK(resumed.at("from_seq").to_number<std::uint64_t>() == seen + 1);
    CHECK(resumed.at("to_seq").to_number<std::uint64_t>() == seen + 3);
    CHECK(resumed.at("complete") == true);

    // Resuming again repeats nothing already sent on this connection.
    back->send(json::object{{"type", "resume"}, {"device_id", "wimz-003"}, {"after_seq", seen}});
    auto again = back->expect("resumed");
    CHECK(again.at("complete") == true);
    for (auto const& skipped : back->skipped())
        CHECK(skipped.at("type") != "event");

    // Far behind: the buffer (5 events) no longer holds what came after `seen`.
    back->close();
    for (int i = 0; i < 10; ++i)
        robot->send(robot_event("tick"));
    round_trip(*robot);
    auto late = connect_app(relayd.port(), owner);
    late->send(json::object{{"type", "resume"}, {"device_id", "wimz-003"}, {"after_seq", seen}});
    int replayed = 0;
    json::value r;
    for (;;) {
        auto m = late->read_json();
        REQUIRE(m);
        if (m->at("type") == "resumed") { r = *m; break; }
        if (m->at("type") == "event") ++replayed;
    }
    CHECK(replayed == 5);
    CHECK(r.at("complete") == false);

    // A seq from before this relay process existed can never be complete.
    late->send(json::object{{"type", "resume"}, {"device_id", "wimz-003"}, {"after_seq", 7}});
    CHECK(late->expect("resumed").at("complete") == false);

    // Resume of a device you cannot see.
    late->send(json::object{{"type", "resume"}, {"device_id", "nope"}, {"after_seq", 0}});
    CHECK(str(late->expect("error"), "code") == "DEVICE_NOT_FOUND");
}

TEST_CASE("a newer robot connection replaces the older one with 4409")
{
    owner_with_app setup;
    auto& [relayd, owner, dev, app] = setup;
    auto first = connect_robot(relayd.port(), dev);
    CHECK(str(app->expect("event"), "event") == "robot_connected");
    auto second = connect_robot(relayd.port(), dev);
    CHECK(first->wait_closed() == 4409);
    // The new connection carries on; the replaced one's exit is not reported as a disconnect.
    second->send(robot_event("battery"));
    auto e = app->expect("event");
    CHECK(str(e, "event") == "battery");
    app->send(json::object{{"type", "command"}, {"device_id", dev.device_id}, {"id", "x"}, {"command", "sit"}});
    CHECK(!app->expect("ack").is_null());
    CHECK(!second->expect("command").is_null());
}

TEST_CASE("ping and pong on both sockets")
{
    owner_with_app setup;
    auto& [relayd, owner, dev, app] = setup;
    app->send(json::object{{"type", "ping"}, {"id", "p1"}});
    auto pong = app->expect("pong");
    CHECK(str(pong, "id") == "p1");
    CHECK(str(pong, "ts").back() == 'Z');
    auto robot = connect_robot(relayd.port(), dev);
    robot->send(json::object{{"type", "ping"}});
    auto rp = robot->expect("pong");
    CHECK(rp.as_object().contains("ts"));
}

TEST_CASE("bad messages get an error and the connection stays open")
{
    owner_with_app setup;
    auto& [relayd, owner, dev, app] = setup;
    auto robot = connect_robot(relayd.port(), dev);

    app->send_text("{not json");
    CHECK(str(app->expect("error"), "code") == "BAD_JSON");
    app->send(json::object{{"type", "teleport"}, {"id", "t1"}});
    auto unknown = app->expect("error");
    CHECK(str(unknown, "code") == "UNKNOWN_TYPE");
    CHECK(str(unknown, "ref") == "t1");
    app->send(json::object{{"type", "command"}, {"id", "c9"}, {"command", "sit"}});
    auto bad = app->expect("error");
    CHECK(str(bad, "code") == "BAD_MESSAGE");
    CHECK(str(bad, "ref") == "c9");
    CHECK(str(bad, "message").find("device_id") != std::string::npos);

    robot->send(json::object{{"type", "event"}, {"event", "Bad Name!"}});
    CHECK(str(robot->expect("error"), "code") == "BAD_MESSAGE");
    robot->send_text("[]");
    CHECK(str(robot->expect("error"), "code") == "BAD_JSON");

    // Both connections still work.
    robot->send(robot_event("battery"));
    CHECK(str(app->expect("event"), "event") == "battery");
}

TEST_CASE("a message over read_message_max closes with 1009; others are unaffected")
{
    relayd_process relayd(test_env({{"RELAY_READ_MESSAGE_MAX", "2048"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner);
    auto app = connect_app(relayd.port(), owner);
    auto big_app = connect_app(relayd.port(), owner);
    big_app->send(json::object{{"type", "ping"}, {"id", std::string(4096, 'x')}});
    CHECK(big_app->wait_closed() == 1009);
    // The relay keeps reading (and dropping) what the peer still sends after refusing a message,
    // so a client still writing the rest gets the 1009 close rather than a reset.
    auto slow_app = connect_app(relayd.port(), owner);
    slow_app->send_fragment(std::string(16000, ' '), false);
    std::this_thread::sleep_for(300ms);
    slow_app->send_fragment("{}", true);
    CHECK(slow_app->wait_closed() == 1009);
    auto robot = connect_robot(relayd.port(), dev);
    robot->send(robot_event("ok"));
    CHECK(str(app->expect("event", 2s), "event") == "robot_connected");
    CHECK(str(app->expect("event"), "event") == "ok");
}

TEST_CASE("rate limits: over the bucket is RATE_LIMITED and dropped; abuse closes 4429")
{
    relayd_process relayd(test_env({{"RELAY_APP_RATE", "1/3"}}));
    auto owner = make_account(relayd.port());
    auto app = connect_app(relayd.port(), owner);
    for (int i = 0; i < 5; ++i)
        app->send(json::object{{"type", "ping"}, {"id", std::to_string(i)}});
    int pongs = 0, limited = 0;
    for (int i = 0; i < 5; ++i) {
        auto m = app->read_json();
        REQUIRE(m);
        if (m->at("type") == "pong") ++pongs;
        if (m->at("type") == "error" && m->at("code") == "RATE_LIMITED") ++limited;
    }
    CHECK(pongs == 3);
    CHECK(limited == 2);

    auto abuser = connect_app(relayd.port(), owner);
    for (int i = 0; i < 200; ++i)
        abuser->send(json::object{{"type", "ping"}});
    CHECK(abuser->wait_closed(5s) == 4429);
    // The well-behaved connection of the same user is untouched.
    std::this_thread::sleep_for(1100ms);
    app->send(json::object{{"type", "ping"}, {"id", "still"}});
    CHECK(str(app->expect("pong"), "id") == "still");
}

TEST_CASE("sharing, unsharing and deleting take effect on live connections at once")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto friend_ = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "shared-bot");
    auto own2 = make_device(relayd.port(), friend_, "friends-own-bot");
    auto robot = connect_robot(relayd.port(), dev);
    auto friend_app = connect_app(relayd.port(), friend_);

    robot->send(robot_event("before"));
    round_trip(*robot);
    expect_nothing_before_pong(*friend_app);

    share_device(relayd.port(), owner, dev.device_id, friend_, "operator");
    robot->send(robot_event("after_share"));
    CHECK(str(friend_app->expect("event"), "event") == "after_share");
    friend_app->send(json::object{{"type", "command"}, {"device_id", "shared-bot"}, {"id", "k1"}, {"command", "sit"}});
    CHECK(!friend_app->expect("ack").is_null());

    auto del = http_delete(relayd.port(), "/api/devices/shared-bot/members/" + friend_.user_id, owner.access_token);
    CHECK(del.status / 100 == 2);
    robot->send(robot_event("after_unshare"));
    round_trip(*robot);
    expect_nothing_before_pong(*friend_app, "event");
    friend_app->send(json::object{{"type", "command"}, {"device_id", "shared-bot"}, {"id", "k2"}, {"command", "sit"}});
    CHECK(str(friend_app->expect("error"), "code") == "DEVICE_NOT_FOUND");
    CHECK(friend_app->is_open()); // still has its own robot

    // A user whose last device disappears is closed with 4403.
    auto owner_app = connect_app(relayd.port(), owner);
    auto gone = http_delete(relayd.port(), "/api/devices/shared-bot", owner.access_token);
    CHECK(gone.status / 100 == 2);
    CHECK(robot->wait_closed() != 0);
    CHECK(owner_app->wait_closed() == 4403);
    (void)own2;
}

TEST_CASE("a device added while its owner's app is connected reaches that app at once")
{
    // The web console adds a robot and waits on its open socket for it to come online.
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto other = make_account(relayd.port());
    auto owner_app = connect_app(relayd.port(), owner); // no device yet
    auto other_app = connect_app(relayd.port(), other);

    auto dev = make_device(relayd.port(), owner, "new-bot");
    auto robot = connect_robot(relayd.port(), dev);
    auto presence = owner_app->expect("event");
    CHECK(str(presence, "event") == "robot_connected");
    CHECK(str(presence, "device_id") == "new-bot");
    robot->send(robot_event("hello_owner"));
    CHECK(str(owner_app->expect("event"), "event") == "hello_owner");
    owner_app->send(json::object{{"type", "command"}, {"device_id", "new-bot"}, {"id", "k1"}, {"command", "sit"}});
    CHECK(!owner_app->expect("ack").is_null());

    // Nobody else's connection got it.
    round_trip(*robot);
    expect_nothing_before_pong(*other_app);
}

TEST_CASE("keepalive: a peer that stops answering pings is dropped; a live one stays")
{
    relayd_process relayd(test_env({{"RELAY_PING_INTERVAL", "1"}, {"RELAY_IDLE_TIMEOUT", "3"}}));
    auto owner = make_account(relayd.port());
    auto live = connect_app(relayd.port(), owner);
    auto stalled = connect_app(relayd.port(), owner);
    // `live` keeps reading (so Beast answers the relay's pings); `stalled` reads nothing for 5 s.
    auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until)
        live->read_json(200ms);
    CHECK(live->is_open());
    live->send(json::object{{"type", "ping"}, {"id", "alive"}});
    CHECK(str(live->expect("pong"), "id") == "alive");
    CHECK_FALSE(stalled->read_json(2s).has_value());
    CHECK_FALSE(stalled->is_open());
}

TEST_CASE("a slow consumer is dropped without slowing a fast one")
{
    relayd_process relayd(test_env({{"RELAY_ROBOT_RATE", "100000/100000"},
                                    {"RELAY_SEND_QUEUE_MAX_MESSAGES", "64"},
                                    {"RELAY_SEND_QUEUE_MAX_BYTES", "1048576"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner);
    auto fast = connect_app(relayd.port(), owner);
    auto slow = connect_app(relayd.port(), owner);
    auto robot = connect_robot(relayd.port(), dev);
    CHECK(!fast->expect("event").is_null()); // robot_connected

    // 40 MB of events: far more than the kernel buffers and the slow app's queue can hold.
    std::string blob(20000, 'x');
    constexpr int count = 2000;
    std::thread producer([&] {
        for (int i = 0; i < count; ++i)
            robot->send(robot_event("photo", {{"i", i}, {"blob", blob}}));
    });
    int received = 0;
    while (received < count) {
        auto e = fast->expect("event", 10s);
        if (e.is_null()) break;
        CHECK(e.at("data").at("i") == received);
        ++received;
    }
    producer.join();
    CHECK(received == count);
    // The slow one was cut off rather than buffered without bound.
    int drained = 0;
    while (slow->read_json(2s)) ++drained;
    CHECK_FALSE(slow->is_open());
    CHECK(drained < count);
    auto metrics = http_get(relayd.port(), "/metrics").body;
    CHECK(metrics.find("relay_slow_consumer_drops_total 1") != std::string::npos);
}

TEST_CASE("metrics move with traffic: messages by type and direction, errors by code")
{
    owner_with_app setup;
    auto& [relayd, owner, dev, app] = setup;
    auto robot = connect_robot(relayd.port(), dev);
    robot->send(robot_event("battery"));
    robot->send(robot_event("battery"));
    CHECK(str(app->expect("event"), "event") == "robot_connected");
    CHECK(str(app->expect("event"), "event") == "battery");
    CHECK(str(app->expect("event"), "event") == "battery");
    app->send(json::object{{"type", "teleport"}});
    CHECK(str(app->expect("error"), "code") == "UNKNOWN_TYPE");
    app->send(json::object{{"type", "resume"}, {"device_id", "nope"}, {"after_seq", 0}});
    CHECK(str(app->expect("error"), "code") == "DEVICE_NOT_FOUND");
    auto m = http_get(relayd.port(), "/metrics").body;
    CAPTURE(m);
    CHECK(m.find(R"(relay_messages_total{direction="in",kind="robot",type="event"} 2)") != std::string::npos);
    CHECK(m.find(R"(relay_messages_total{direction="in",kind="robot",type="auth"} 1)") != std::string::npos);
    CHECK(m.find(R"(relay_messages_total{direction="in",kind="app",type="resume"} 1)") != std::string::npos);
    CHECK(m.find(R"(relay_errors_total{code="UNKNOWN_TYPE"} 1)") != std::string::npos);
    CHECK(m.find(R"(relay_errors_total{code="DEVICE_NOT_FOUND"} 1)") != std::string::npos);
    CHECK(m.find(R"(relay_connections{kind="app"} 1)") != std::string::npos);
    CHECK(m.find(R"(relay_connections{kind="robot"} 1)") != std::string::npos);
    CHECK(m.find("relay_routing_latency_seconds_count 2") != std::string::npos);
}
