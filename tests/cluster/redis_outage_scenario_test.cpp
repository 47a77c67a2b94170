// Redis killed and started again mid-traffic (issue 16, "Redis down, then back"): traffic between
// an app and a robot on the same node goes on; a command that needs another node fails fast with
// NODE_UNREACHABLE; /health is 503 with checks.redis; once Redis is back, cross-node routing
// works again within a bounded wait, and the events the robot sent meanwhile reach the apps on
// other nodes as docs/protocol.md "Events on several nodes" says: held by the robot's node and
// published when Redis is back, in order, each once; a Redis without persistence has lost the
// history, so a new epoch starts, the seq jumps, and a resume from before the outage answers
// complete:false — never a silent gap.
#include "redis/redis_server.hpp"
#include "support/barrier.hpp"
#include "support/cluster_harness.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <thread>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

json::object command(std::string const& device_id, std::string const& id)
{
    return {{"type", "command"}, {"device_id", device_id}, {"id", id}, {"command", "dock"}};
}

/** The ack or error about command `id` on `app`; the messages read before it are added to
 * *read_meanwhile when given. */
json::value answer_to(ws_client& app, std::string const& id, std::chrono::milliseconds limit,
                      std::vector<json::value>* read_meanwhile = nullptr)
{
    return read_until(
        app,
        [&](json::object const& o) {
            auto const* ref = o.if_contains("ref");
            return ref && *ref == id.c_str() && (o.at("type") == "ack" || o.at("type") == "error");
        },
        limit, read_meanwhile);
}

std::string redis_check(http_reply const& r)
{
    auto body = r.json();
    auto const* checks = body.as_object().if_contains("checks");
    auto const* redis = checks && checks->is_object() ? checks->as_object().if_contains("redis") : nullptr;
    return redis && redis->is_string() ? std::string(redis->as_string()) : std::string();
}

} // namespace

TEST_CASE("cluster outage: Redis killed and restarted mid-traffic")
{
    cluster_harness c;
    auto h = c.make_household();
    auto near_app = c.connect_app(0, h.operator_user); // beside the robot
    auto far_app = c.connect_app(1, h.owner);          // another node
    auto robot = c.connect_robot(0, h.dev);
    REQUIRE(expect_event(*far_app, "robot_connected", h.dev.device_id).is_object());

    // Before: events flow across nodes.
    robot->send(json::object{{"type", "event"}, {"event", "step"}, {"data", {{"i", 0}}}});
    auto before = expect_event(*far_app, "step", h.dev.device_id);
    REQUIRE(before.is_object());
    auto const last_seq_before = before.at("seq").to_number<std::uint64_t>();
    REQUIRE(expect_event(*near_app, "step", h.dev.device_id).is_object());

    c.redis().kill();

    // /health says so, on every node, naming redis.
    for (std::size_t i = 0; i < c.size(); ++i) {
        CAPTURE(i);
        auto health = c.wait_health(i, 503);
        CHECK(health.status == 503);
        CHECK(health.json().at("status") == "degraded");
        CHECK_FALSE(redis_check(health).empty());
    }

    // Same node: the command goes through, acked and answered.
    near_app->send(command(h.dev.device_id, "near-1"));
    auto got = robot->expect("command", 10s);
    REQUIRE(got.is_object());
    CHECK(got.at("id") == "near-1");
    auto near_ack = answer_to(*near_app, "near-1", 10s);
    REQUIRE(near_ack.is_object());
    CHECK(near_ack.at("type") == "ack");
    robot->send(json::object{{"type", "command_result"}, {"id", "near-1"}, {"ok", true}});
    CHECK(near_app->expect("command_result", 10s).at("id") == "near-1");

    // Another node: fails fast with NODE_UNREACHABLE (well before any command deadline).
    auto const asked = std::chrono::steady_clock::now();
    far_app->send(command(h.dev.device_id, "far-1"));
    auto far_error = answer_to(*far_app, "far-1", 10s);
    REQUIRE(far_error.is_object());
    CHECK(far_error.at("type") == "error");
    CHECK(far_error.at("code") == "NODE_UNREACHABLE");
    MESSAGE("NODE_UNREACHABLE after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - asked).count()
            << " ms");

    // Events the robot sends during the outage wait in its node's backlog: neither delivered
    // (not even beside the robot) nor acknowledged, and a resume ends at once incomplete.
    for (int i = 1; i <= 4; ++i)
        robot->send(json::object{{"type", "event"}, {"event", "step"}, {"data", {{"i", i}}}});
    robot->send(json::object{{"type", "event"}, {"event", "step"}, {"data", {{"i", 5}}}, {"id", "outage-5"}});
    round_trip(*robot); // the robot's node has them, and is not blocked
    CHECK_FALSE(contains_type(robot->skipped(), "ack"));
    expect_nothing_before_pong(*near_app, "event");
    near_app->send(json::object{{"type", "resume"}, {"device_id", h.dev.device_id}, {"after_seq", last_seq_before}});
    auto resumed_meanwhile = near_app->expect("resumed", 10s);
    REQUIRE(resumed_meanwhile.is_object());
    CHECK(resumed_meanwhile.at("complete") == false);

    c.redis().start(); // same port, empty: a Redis without persistence lost everything

    // Cross-node routing comes back within a bounded wait. The far app may meanwhile receive the
    // outage's events: kept for below.
    auto const restarted = std::chrono::steady_clock::now();
    std::vector<json::value> far_meanwhile;
    bool routed = false;
    for (int attempt = 0; !routed && std::chrono::steady_clock::now() - restarted < 10s; ++attempt) {
        auto id = "far-again-" + std::to_string(attempt);
        far_app->send(command(h.dev.device_id, id));
        auto a = answer_to(*far_app, id, 10s, &far_meanwhile);
        REQUIRE(a.is_object());
        if (a.at("type") == "ack") {
            routed = true;
            auto cmd = robot->expect("command", 10s);
            REQUIRE(cmd.is_object());
            CHECK(cmd.at("id") == id.c_str());
        } else {
            // Until the nodes are back on Redis: unreachable; until the robot's node has claimed
            // its robots again in the empty Redis: offline.
            CHECK((a.at("code") == "NODE_UNREACHABLE" || a.at("code") == "DEVICE_OFFLINE"));
            std::this_thread::sleep_for(100ms); // a bounded poll, not an assertion on speed
        }
    }
    REQUIRE_MESSAGE(routed, "cross-node commands did not work again within 10 s of Redis's restart");
    MESSAGE("cross-node routing back "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - restarted).count()
            << " ms after Redis's restart");
    CHECK(c.wait_health(0, 200).status == 200);
    CHECK(c.wait_health(1, 200).status == 200);
    // The robot's event with an id is acknowledged now that it is kept.
    // (It may have come while the robot waited for the command above.)
    auto is_ack = [](json::object const& o) { return o.at("type") == "ack"; };
    json::value ack;
    for (auto const& m : robot->skipped())
        if (is_ack(m.as_object()))
            ack = m;
    if (ack.is_null())
        ack = read_until(*robot, is_ack, 15s);
    REQUIRE(ack.is_object());
    CHECK(ack.at("ref") == "outage-5");

    // The outage's events reach the far app (and the near one), in order, each once.
    for (auto* app : {far_app.get(), near_app.get()}) {
        std::vector<json::value> outage;
        if (app == far_app.get())
            for (auto const& m : far_meanwhile)
                if (m.at("type") == "event" && m.at("event") == "step")
                    outage.push_back(m);
        while (outage.size() < 5) {
            auto e = expect_event(*app, "step", h.dev.device_id, 15s);
            REQUIRE_MESSAGE(e.is_object(), "only " << outage.size() << " of the 5 events sent during the outage arrived");
            outage.push_back(e);
        }
        for (std::size_t k = 0; k < outage.size(); ++k) {
            CHECK(outage[k].at("data").at("i") == static_cast<std::int64_t>(k + 1));
            if (k > 0)
                CHECK(outage[k].at("seq").to_number<std::uint64_t>() ==
                      outage[k - 1].at("seq").to_number<std::uint64_t>() + 1);
        }
        // No gap goes unannounced: either the numbering went straight on, or the resume from
        // before the outage says it is incomplete.
        auto const first_after = outage.front().at("seq").to_number<std::uint64_t>();
        CHECK(first_after > last_seq_before);
        app->send(json::object{{"type", "resume"}, {"device_id", h.dev.device_id}, {"after_seq", last_seq_before}});
        auto resumed = app->expect("resumed", 15s);
        REQUIRE(resumed.is_object());
        if (first_after == last_seq_before + 1)
            CHECK(resumed.at("complete") == true);
        else
            CHECK(resumed.at("complete") == false);
        MESSAGE("seq before the outage " << last_seq_before << ", first after " << first_after
                                         << ", resume complete: " << resumed.at("complete"));
    }
    // And nothing twice.
    expect_nothing_before_pong(*far_app, "event");
}
