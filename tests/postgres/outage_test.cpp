// relayd on a PostgreSQL that stops under it and comes back (docs/store.md, "When PostgreSQL is
// down"): requests that need the database fail fast with 503 and the contract's error body,
// /health says degraded, traffic between connected clients goes on, nothing is half-written, and
// the pool reconnects by itself once the server is back.
#include "postgres/relay_on_postgres.hpp"
#include "support/barrier.hpp"
#include "support/fixtures.hpp"

using namespace pg_test;

namespace {

/** The longest a request may take to fail while PostgreSQL is down (the issue: "a bounded time"). */
constexpr auto failure_bound = 10s;
/** How long the relay may take to notice that PostgreSQL is back. */
constexpr auto recovery_bound = 30s;

/** A command from the app to the robot and an event back: both arrive. */
void exchange(ws_client& app, ws_client& robot, std::string const& device_id, std::string const& id)
{
    app.send(json::object{{"type", "command"}, {"device_id", device_id}, {"id", id}, {"command", "sit"}});
    CHECK(app.expect("ack").at("ref") == id.c_str());
    auto command = robot.expect("command");
    REQUIRE(command.is_object());
    CHECK(command.at("id") == id.c_str());
    robot.send(json::object{{"type", "event"}, {"event", "battery"}, {"data", {{"level", 80}}}});
    auto event = app.expect("event");
    REQUIRE(event.is_object());
    CHECK(event.at("event") == "battery");
    CHECK(event.at("device_id") == device_id.c_str());
}

/** The contract's error body: {"error":{"code":…,"message":…}} with code UNAVAILABLE. */
void check_unavailable(http_reply const& r)
{
    CAPTURE(r.body);
    CHECK(r.status == 503);
    auto body = r.json();
    REQUIRE(body.is_object());
    auto const* error = body.as_object().if_contains("error");
    REQUIRE(error);
    REQUIRE(error->is_object());
    CHECK(error->at("code") == "UNAVAILABLE");
    REQUIRE(error->at("message").is_string());
    CHECK(!error->at("message").as_string().empty());
}

/** GET /health's status code and body, once it answers `status` (its answer is cached a second). */
http_reply health_when(std::uint16_t port, unsigned status)
{
    return poll_until([&] { return http_get(port, "/health"); },
                      [&](http_reply const& r) { return r.status == status; }, recovery_bound);
}

void outage(pg::stop_mode mode)
{
    pg::postgres_server server;
    auto const url = server.create_database();
    auto const db = database_name(url);
    relayd_process relayd(relay_env(url));
    auto const port = relayd.port();
    // Read when a check fails, not before.
    INFO("relayd's output:\n" << relayd.output() << "\nPostgreSQL's log:\n" << server.log());

    auto owner = make_account(port, "pg-owner");
    auto dev = make_device(port, owner, "pg-robot-1");
    auto app = connect_app(port, owner);
    auto robot = connect_robot(port, dev);
    exchange(*app, *robot, dev.device_id, "c1");

    server.stop(mode);

    // Requests that need the database fail within the bound, with the contract's error body.
    auto refused_in_time = [](auto request) {
        auto const before = clock_type::now();
        auto reply = request();
        CHECK(clock_type::now() - before <= failure_bound);
        check_unavailable(reply);
    };
    refused_in_time([&] { return login(port, owner.email); });
    refused_in_time([&] { return http_get(port, "/api/devices", owner.access_token); });
    // A write while the database is gone: refused, and (checked below) nothing of it is stored.
    refused_in_time([&] {
        return http_json(port, "POST", "/api/devices",
                         json::object{{"name", "Never stored"}, {"device_id", "pg-robot-2"}}, owner.access_token);
    });

    auto degraded = health_when(port, 503);
    CAPTURE(degraded.body);
    CHECK(degraded.status == 503);
    CHECK(degraded.json().at("status") == "degraded");
    CHECK(degraded.json().at("checks").at("store") != "ok");

    // Clients already connected talk on: routing needs no database.
    exchange(*app, *robot, dev.device_id, "c2");

    server.start();
    auto back = poll_until([&] { return login(port, owner.email); },
                           [](http_reply const& r) { return r.status == 200; }, recovery_bound);
    CAPTURE(back.body);
    CHECK(back.status == 200);
    auto healthy = health_when(port, 200);
    CHECK(healthy.status == 200);

    // What was there before is intact; the refused write left nothing.
    auto listed = http_get(port, "/api/devices", owner.access_token);
    CAPTURE(listed.body);
    REQUIRE(listed.status == 200);
    auto body = listed.json();
    REQUIRE(body.is_array());
    auto const& devices = body.as_array();
    REQUIRE(devices.size() == 1);
    CHECK(devices[0].at("device_id") == "pg-robot-1");
    CHECK(server.admin_value(db, "SELECT count(*) FROM devices WHERE device_id = 'pg-robot-2'") == "0");
    CHECK(server.admin_value(db, "SELECT count(*) FROM memberships WHERE device_id = 'pg-robot-2'") == "0");
    auto refreshed = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", owner.refresh_token}});
    CAPTURE(refreshed.body);
    CHECK(refreshed.status == 200);
    // The robot's secret still authenticates it, and the old connections still work.
    auto second_robot = connect_robot(port, dev);
    exchange(*app, *second_robot, dev.device_id, "c3");

    check_password_not_in(relayd.output(), server);
}

} // namespace

TEST_CASE("postgresql stopped (fast) mid-traffic: 503 within a bound, clients talk on, back without a restart")
{
    outage(pg::stop_mode::fast);
}

TEST_CASE("postgresql crashed (immediate stop) mid-traffic: 503 within a bound, clients talk on, back without a "
          "restart")
{
    outage(pg::stop_mode::immediate);
}
