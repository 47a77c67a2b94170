// Contract sections 6 and 7 across nodes: robot authentication (4401), `hello` shown by another
// node, a newer connection of a robot on another node replacing the older one (4409, no
// robot_disconnected), and access changes made on one node closing connections on the others
// (unshare → 4403, secret rotated → 4401).
#include "support/barrier.hpp"
#include "support/cluster_harness.hpp"

#include <relay/auth/device_auth.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/** A robot connection that answers the challenge with `secret`; the relay's last message. */
json::value robot_auth_with(std::string const& device_id, std::string const& secret, ws_client& ws)
{
    auto challenge = ws.expect("auth_challenge");
    REQUIRE(challenge.is_object());
    std::string nonce(challenge.at("nonce").as_string());
    ws.send(json::object{{"type", "auth"},
                         {"device_id", device_id},
                         {"signature", relay::auth::device_signature(secret, nonce, device_id)}});
    auto answer = ws.read_json(10s);
    return answer ? *answer : json::value(nullptr);
}

} // namespace

TEST_CASE("cluster robots: a bad secret or an unknown device is 4401 on every node")
{
    cluster_harness c(cluster_of(2));
    auto owner = c.make_account(0);
    auto dev = c.make_device(owner, 0);
    for (std::size_t i = 0; i < c.size(); ++i) {
        CAPTURE(i);
        ws_client wrong(c.port(i), "/ws/device");
        auto e = robot_auth_with(dev.device_id, "not-the-secret", wrong);
        REQUIRE(e.is_object());
        CHECK(e.at("type") == "error");
        CHECK(e.at("code") == "UNAUTHORIZED");
        CHECK(wrong.wait_closed(10s) == 4401);

        ws_client unknown(c.port(i), "/ws/device");
        auto u = robot_auth_with("no-such-robot", dev.secret, unknown);
        REQUIRE(u.is_object());
        CHECK(u.at("code") == "UNAUTHORIZED");
        CHECK(unknown.wait_closed(10s) == 4401);
    }
    // The right secret works on either node.
    auto robot = c.connect_robot(1, dev);
    round_trip(*robot);
}

TEST_CASE("cluster apps: a token from one node's login authenticates on the others in every form; a bad one is 4401")
{
    cluster_harness c;
    auto h = c.make_household(0);
    auto check_ok = [&](ws_client& ws) {
        auto ok = ws.expect("auth_ok", 10s);
        REQUIRE(ok.is_object());
        CHECK(ok.at("user_id") == h.viewer.user_id.c_str());
        REQUIRE(ok.at("devices").as_array().size() == 1);
        CHECK(ok.at("devices").as_array()[0].at("role") == "viewer");
    };
    ws_client by_query(c.port(1), "/ws/app?token=" + h.viewer.access_token);
    check_ok(by_query);
    ws_client by_message(c.port(2), "/ws/app");
    by_message.send(json::object{{"type", "auth"}, {"token", h.viewer.access_token}});
    check_ok(by_message);

    ws_client bad(c.port(2), "/ws/app");
    bad.send(json::object{{"type", "auth"}, {"token", h.viewer.access_token + "x"}});
    auto e = bad.expect("error", 10s);
    REQUIRE(e.is_object());
    CHECK(e.at("code") == "UNAUTHORIZED");
    CHECK(bad.wait_closed(10s) == 4401);
}

TEST_CASE("cluster robots: hello on one node is shown by GET /api/devices on another")
{
    cluster_harness c;
    auto h = c.make_household();
    auto robot = c.connect_robot(0, h.dev);
    robot->send(json::object{{"type", "hello"},
                             {"capabilities", {{"camera", true}, {"arm", "v2"}}},
                             {"firmware", "2.4.1"}});
    round_trip(*robot);
    json::object shown;
    auto seen = eventually([&] {
        auto r = http_get(c.port(2), "/api/devices/" + h.dev.device_id, h.viewer.access_token);
        if (r.status != 200)
            return false;
        shown = r.json().as_object();
        return shown.at("firmware") == "2.4.1";
    });
    REQUIRE_MESSAGE(seen, "node 2 never showed the hello");
    CHECK(shown.at("capabilities") == json::object{{"camera", true}, {"arm", "v2"}});
    CHECK(shown.at("online") == true);
}

TEST_CASE("cluster robots: a newer connection on another node replaces the older one with 4409, quietly")
{
    cluster_harness c;
    auto h = c.make_household();
    auto [app, older] = c.connect_pair(2, h.owner, 0, h.dev);

    auto newer = c.connect_robot(1, h.dev);
    CHECK(older->wait_closed(5s) == 4409);

    // The device stays online on every node; the newer connection carries its traffic. Its event
    // reaches the app after anything the replacement made the relay say: no robot_disconnected.
    newer->send(json::object{{"type", "event"}, {"event", "after_replace"}});
    std::vector<json::value> before;
    REQUIRE(expect_event(*app, "after_replace", h.dev.device_id, 10s, &before).is_object());
    for (auto const& m : before)
        CHECK(m.at("event") != "robot_disconnected");
    CHECK(c.online_on(0, h.owner, h.dev.device_id));
    CHECK(c.online_on(2, h.owner, h.dev.device_id));

    // Commands from the app reach the newer connection.
    app->send(json::object{{"type", "command"}, {"device_id", h.dev.device_id}, {"id", "c1"}, {"command", "dock"}});
    auto cmd = newer->expect("command", 10s);
    REQUIRE(cmd.is_object());
    CHECK(cmd.at("id") == "c1");
    CHECK(app->expect("ack", 10s).is_object());

    // And back: a third connection on node 0 replaces the one on node 1.
    auto third = c.connect_robot(0, h.dev);
    CHECK(newer->wait_closed(5s) == 4409);
    round_trip(*third);
}

TEST_CASE("cluster access: unsharing on one node closes the member's apps on the others with 4403")
{
    cluster_harness c;
    auto h = c.make_household();
    auto viewer_1 = c.connect_app(1, h.viewer);
    auto viewer_2 = c.connect_app(2, h.viewer);
    auto owner_2 = c.connect_app(2, h.owner);

    auto r = http_delete(c.port(0), "/api/devices/" + h.dev.device_id + "/members/" + h.viewer.user_id,
                         h.owner.access_token);
    REQUIRE(r.status / 100 == 2);
    CHECK(viewer_1->wait_closed(10s) == 4403);
    CHECK(viewer_2->wait_closed(10s) == 4403);
    round_trip(*owner_2); // the owner keeps their socket

    // The former viewer connects again and sees nothing of the device; the operator beside it
    // on node 1 does.
    json::value ok;
    auto again = c.connect_app(1, h.viewer, &ok);
    CHECK(ok.at("devices").as_array().empty());
    auto witness = c.connect_app(1, h.operator_user);
    auto robot = c.connect_robot(0, h.dev);
    REQUIRE(expect_event(*witness, "robot_connected", h.dev.device_id).is_object());
    robot->send(json::object{{"type", "event"}, {"event", "private"}});
    REQUIRE(expect_event(*witness, "private", h.dev.device_id).is_object());
    expect_nothing_before_pong(*again, "event");
}

TEST_CASE("cluster access: a secret rotated on one node closes the robot on another with 4401")
{
    cluster_harness c;
    auto h = c.make_household();
    auto app = c.connect_app(2, h.owner);
    auto robot = c.connect_robot(1, h.dev);
    REQUIRE(expect_event(*app, "robot_connected", h.dev.device_id).is_object());

    auto r = http_json(c.port(0), "POST", "/api/devices/" + h.dev.device_id + "/secret", json::object{},
                       h.owner.access_token);
    REQUIRE(r.status / 100 == 2);
    CHECK(robot->wait_closed(10s) == 4401);
    CHECK(expect_event(*app, "robot_disconnected", h.dev.device_id).is_object());
    CHECK(c.wait_online(2, h.owner, h.dev.device_id, false));
}
