// relay::robot::client against a real relayd: authentication, hello, events, commands, the
// reasons a connection ends (4401, 4409), the outbox, and shutting down.
#include "sdk_test_support.hpp"
#include "support/relayd_process.hpp"

#include <boost/asio/io_context.hpp>

#include <future>
#include <thread>

using namespace relay::test;
namespace json = boost::json;
namespace robot = relay::robot;

namespace {

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

json::value device_listing(std::uint16_t port, account const& user, std::string const& device_id)
{
    auto list = http_get(port, "/api/devices", user.access_token).json();
    for (auto const& d : list.as_array())
        if (d.at("device_id") == json::value(device_id))
            return d;
    return nullptr;
}

} // namespace

TEST_CASE("the robot authenticates, says hello, and its events reach the app in order")
{
    owner_with_app setup("wimz-001");
    auto& [relayd, owner, dev, app] = setup;

    auto options = robot_options(relayd.port(), dev);
    options.capabilities = {{"camera", true}, {"treats", 3}};
    options.firmware = "2.4.1";
    auto&& [seen, robot] = started_client(options);
    REQUIRE(seen.wait_connects(1));
    CHECK(robot.connected());
    auto info = seen.connects().front();
    CHECK(info.device_id == "wimz-001");
    CHECK(info.protocol == 1);
    CHECK(info.connections == 1);
    CHECK(next_presence(*app) == "robot_connected");

    // hello's capabilities and firmware are what GET /api/devices shows (recorded off the hot path).
    json::value listed;
    for (int i = 0; i < 200; ++i) {
        listed = device_listing(relayd.port(), owner, "wimz-001");
        if (!listed.is_null() && listed.at("capabilities") == json::value(options.capabilities))
            break;
        std::this_thread::sleep_for(50ms);
    }
    REQUIRE(!listed.is_null());
    CHECK(listed.at("online") == true);
    CHECK(listed.at("capabilities") == json::value(options.capabilities));

    // Events: typed, in order, data untouched; an event without data has none.
    CHECK(!robot.send_event("battery", json::object{{"pct", 80}}));
    for (int i = 0; i < 20; ++i)
        CHECK(!robot.send_event("mission_progress", json::object{{"i", i}}));
    CHECK(!robot.send_event("heartbeat"));
    auto battery = next_robot_event(*app);
    REQUIRE(!battery.is_null());
    CHECK(str(battery, "event") == "battery");
    CHECK(str(battery, "device_id") == "wimz-001");
    CHECK(battery.at("data").at("pct") == 80);
    auto first_seq = battery.at("seq").to_number<std::uint64_t>();
    for (int i = 0; i < 20; ++i) {
        auto e = next_robot_event(*app);
        REQUIRE(!e.is_null());
        CHECK(str(e, "event") == "mission_progress");
        CHECK(e.at("data").at("i") == i);
        CHECK(e.at("seq").to_number<std::uint64_t>() == first_seq + 1 + static_cast<std::uint64_t>(i));
    }
    auto heartbeat = next_robot_event(*app);
    REQUIRE(!heartbeat.is_null());
    CHECK(!heartbeat.as_object().contains("data"));

    // What the relay would refuse is refused at the call, not silently on the wire.
    CHECK(robot.send_event("Bad Name") == relay::errc::bad_message);
    CHECK(robot.send_event("robot_connected") == relay::errc::bad_message);
    CHECK(robot.send_event("photo", json::value(std::string(70 * 1024, 'x'))) == relay::errc::message_too_large);

    REQUIRE(robot.flush(20s));
    auto stats = robot.stats();
    CHECK(stats.connected);
    CHECK(stats.events_queued == 22);
    CHECK(stats.events_sent == 22);
    CHECK(stats.events_dropped == 0);
    CHECK(stats.outbox_size == 0);
    CHECK(seen.errors().empty());

    robot.stop();
    CHECK(!robot.connected());
    CHECK(next_presence(*app) == "robot_disconnected");
    robot.stop(); // idempotent
}

TEST_CASE("commands answered through on_command reach the app as command_result")
{
    auto&& [relayd, owner, dev] = relay_with_device("wimz-002");
    auto app = connect_app(relayd.port(), owner);

    // Everything the callbacks touch is declared before the client, so it outlives it.
    std::vector<std::thread> workers;
    std::mutex workers_mutex;
    std::string from_user;
    client_events seen;
    robot::client robot(robot_options(relayd.port(), dev));
    seen.attach(robot);
    robot.on_command([&](relay::protocol::robot_command const& cmd, robot::command_reply reply) {
        from_user = cmd.from_user;
        if (cmd.command == "echo") {
            CHECK(reply.ok(cmd.data));
            CHECK(reply.answered());
            CHECK(!reply.fail("twice")); // only the first answer counts
        } else if (cmd.command == "slow") {
            // Answered later, from another thread.
            std::lock_guard lock(workers_mutex);
            workers.emplace_back([reply]() mutable {
                std::this_thread::sleep_for(100ms);
                reply.fail(json::object{{"code", "BUSY"}, {"message", "mission running"}});
            });
        }
        // "forget": the reply is dropped unanswered.
    });
    robot.start();
    REQUIRE(seen.wait_connects(1));

    auto send = [&](std::string const& id, std::string const& command, json::value data) {
        app->send(json::object{{"type", "command"}, {"device_id", "wimz-002"}, {"id", id}, {"command", command}, {"data", data}});
        auto ack = app->expect("ack");
        REQUIRE(!ack.is_null());
        CHECK(str(ack, "ref") == id);
        auto result = app->expect("command_result", 20s);
        REQUIRE(!result.is_null());
        CHECK(str(result, "id") == id);
        CHECK(str(result, "device_id") == "wimz-002");
        return result;
    };
    auto echoed = send("c1", "echo", json::object{{"speed", 0.5}});
    CHECK(echoed.at("ok") == true);
    CHECK(echoed.at("data").at("speed") == 0.5);
    CHECK(from_user == owner.user_id);

    auto slow = send("c2", "slow", json::object{});
    CHECK(slow.at("ok") == false);
    CHECK(str(slow.at("error"), "code") == "BUSY");

    auto forgotten = send("c3", "forget", json::object{});
    CHECK(forgotten.at("ok") == false);
    CHECK(str(forgotten.at("error"), "code") == "NOT_ANSWERED");

    robot.stop();
    for (auto& t : workers)
        t.join();

    // A robot without a command handler still answers, so apps are not left waiting.
    auto dev2 = make_device(relayd.port(), owner, "wimz-003");
    auto&& [plain_seen, plain] = started_client(robot_options(relayd.port(), dev2));
    REQUIRE(plain_seen.wait_connects(1));
    auto app2 = connect_app(relayd.port(), owner); // knows the new device
    app2->send(json::object{{"type", "command"}, {"device_id", "wimz-003"}, {"id", "c4"}, {"command", "dance"}});
    auto unknown = app2->expect("command_result", 20s);
    REQUIRE(!unknown.is_null());
    CHECK(unknown.at("ok") == false);
    CHECK(str(unknown.at("error"), "code") == "UNKNOWN_COMMAND");
}

TEST_CASE("a wrong secret is reported as auth_failed (4401) and retried until the secret is fixed")
{
    auto&& [relayd, owner, dev] = relay_with_device("wimz-004");

    auto options = robot_options(relayd.port(), {dev.device_id, "not-the-secret"});
    options.reconnect = {std::chrono::milliseconds(400), std::chrono::milliseconds(2000)};
    auto&& [seen, robot] = started_client(options);
    REQUIRE(seen.wait_reason_count(robot::disconnect_reason::auth_failed, 2));
    auto failure = *seen.wait_reason(robot::disconnect_reason::auth_failed);
    CHECK(failure.close_code == 4401);
    CHECK(!failure.was_connected);
    CHECK(failure.will_retry);
    CHECK(failure.retry_in > 0ms);
    CHECK(failure.message.find("UNAUTHORIZED") != std::string::npos);
    CHECK(failure.message.find("wimz-004") != std::string::npos);
    CHECK(seen.connects().empty());
    CHECK(robot.stats().auth_failures >= 2);

    // The retries carry on with the new secret.
    robot.set_device_secret(dev.secret);
    REQUIRE(seen.wait_connects(1));
    CHECK(robot.connected());
}

TEST_CASE("a newer connection of the same device replaces the older one: 4409 reported, no fight")
{
    auto&& [relayd, owner, dev] = relay_with_device("wimz-005");
    auto app = connect_app(relayd.port(), owner);

    auto first_options = robot_options(relayd.port(), dev);
    first_options.replaced_retry_delay = std::chrono::minutes(10);
    auto&& [first_seen, first] = started_client(first_options);
    REQUIRE(first_seen.wait_connects(1));

    auto&& [second_seen, second] = started_client(robot_options(relayd.port(), dev));
    REQUIRE(second_seen.wait_connects(1));

    auto replaced = first_seen.wait_reason(robot::disconnect_reason::replaced);
    REQUIRE(replaced);
    CHECK(replaced->close_code == 4409);
    CHECK(replaced->was_connected);
    CHECK(replaced->will_retry);
    CHECK(replaced->retry_in == std::chrono::minutes(10));
    CHECK(replaced->message.find("took over") != std::string::npos);
    CHECK(first.stats().replaced == 1);
    CHECK(!first.connected());

    // The device's events now come from the newer connection.
    CHECK(!second.send_event("from_second"));
    auto e = next_robot_event(*app);
    REQUIRE(!e.is_null());
    CHECK(str(e, "event") == "from_second");

    // With stop_when_replaced the older agent gives the device up for good.
    auto third_options = robot_options(relayd.port(), dev);
    third_options.stop_when_replaced = true;
    second.stop();
    auto&& [third_seen, third] = started_client(third_options);
    REQUIRE(third_seen.wait_connects(1));
    auto&& [fourth_seen, fourth] = started_client(robot_options(relayd.port(), dev));
    auto given_up = third_seen.wait_reason(robot::disconnect_reason::replaced);
    REQUIRE(given_up);
    CHECK(!given_up->will_retry);
    REQUIRE(fourth_seen.wait_connects(1));
}

TEST_CASE("a full outbox drops the oldest events and counts them; the rest arrive in order")
{
    auto&& [relayd, owner, dev] = relay_with_device("wimz-006");
    auto app = connect_app(relayd.port(), owner);

    auto options = robot_options(relayd.port(), dev);
    options.outbox_capacity = 5;
    client_events seen;
    robot::client robot(options);
    seen.attach(robot);
    // Not started: everything waits in the outbox.
    for (int i = 0; i < 8; ++i)
        CHECK(!robot.send_event("tick", json::object{{"i", i}}));
    auto before = robot.stats();
    CHECK(before.outbox_size == 5);
    CHECK(before.events_dropped == 3);
    CHECK(before.events_queued == 8);

    robot.start();
    REQUIRE(seen.wait_connects(1));
    for (int i = 3; i < 8; ++i) {
        auto e = next_robot_event(*app);
        REQUIRE(!e.is_null());
        CHECK(e.at("data").at("i") == i);
    }
    REQUIRE(robot.flush(20s));
    auto after = robot.stats();
    CHECK(after.outbox_size == 0);
    CHECK(after.events_sent == 5);
    CHECK(after.events_dropped == 3);
}

TEST_CASE("stop is clean from every state: never started, retrying, connected, inside a callback")
{
    auto&& [relayd, owner, dev] = relay_with_device("wimz-007");

    {
        robot::client idle(robot_options(relayd.port(), dev));
        idle.send_event("never_sent");
    }
    {
        // Nothing listens on port 1: the client is between attempts when stopped.
        auto options = robot_options(1, dev);
        auto&& [seen, retrying] = started_client(options);
        REQUIRE(seen.wait_reason(robot::disconnect_reason::connect_failed));
        auto failure = seen.disconnects().front();
        CHECK(failure.message.find("cannot connect") != std::string::npos);
        retrying.stop();
        auto reports = seen.disconnects();
        // stop() joined the client's thread, so no callback can come after it. Were the retry
        // still scheduled, it would be due by the last report's retry_in and fail at once
        // (nothing listens on port 1): wait past that moment, then check nothing was reported.
        std::this_thread::sleep_for(reports.back().retry_in + 1s);
        CHECK(seen.disconnects().size() == reports.size()); // no callback after stop()
    }
    {
        std::promise<void> stopped;
        robot::client stops_itself(robot_options(relayd.port(), dev));
        stops_itself.on_connected([&](robot::connection_info const&) {
            stops_itself.stop(); // from the I/O thread: only requests
            stopped.set_value();
        });
        stops_itself.start();
        REQUIRE(stopped.get_future().wait_for(30s) == std::future_status::ready);
    }
    {
        auto app = connect_app(relayd.port(), owner);
        auto&& [seen, connected] = started_client(robot_options(relayd.port(), dev));
        REQUIRE(seen.wait_connects(1));
        CHECK(next_presence(*app) == "robot_connected");
        connected.stop();
        CHECK(next_presence(*app) == "robot_disconnected");
        CHECK(!connected.send_webrtc_close("s1")); // session messages need a connection
        CHECK(!connected.flush(1s));
    }
}

TEST_CASE("on a caller-supplied io_context the client runs where the caller runs it")
{
    auto&& [relayd, owner, dev] = relay_with_device("wimz-008");
    auto app = connect_app(relayd.port(), owner);

    boost::asio::io_context io;
    std::thread::id io_thread;
    std::atomic<bool> callback_on_io_thread{true};
    {
        robot::client robot(robot_options(relayd.port(), dev), io);
        robot.on_connected([&](robot::connection_info const&) {
            callback_on_io_thread = callback_on_io_thread && std::this_thread::get_id() == io_thread;
        });
        robot.start();
        std::thread runner([&] {
            io_thread = std::this_thread::get_id();
            io.run();
        });
        CHECK(next_presence(*app) == "robot_connected");
        CHECK(!robot.send_event("on_callers_thread"));
        auto e = next_robot_event(*app);
        REQUIRE(!e.is_null());
        CHECK(str(e, "event") == "on_callers_thread");
        robot.stop();
        // Once stopped, every operation ends and the caller's io_context runs out of work.
        runner.join();
    }
    CHECK(callback_on_io_thread);
    CHECK(next_presence(*app) == "robot_disconnected");
}
