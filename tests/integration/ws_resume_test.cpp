// `resume` against a real relayd when the history is large: the history's byte bounds, and a
// replay that paces itself with the app's socket instead of tripping the slow-consumer policy.
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <thread>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

json::object robot_event(std::string name, json::value data = json::object{})
{
    return {{"type", "event"}, {"event", std::move(name)}, {"data", std::move(data)}};
}

/** The relay has taken in everything the robot sent before: its pong comes after. */
void barrier(ws_client& ws, std::string const& id = "barrier")
{
    ws.send(json::object{{"type", "ping"}, {"id", id}});
    REQUIRE(!ws.expect("pong", 60s).is_null());
}

std::uint64_t seq_of(json::value const& e)
{
    return e.at("seq").to_number<std::uint64_t>();
}

/** What an app read until `resumed`: the events' seqs and frame sizes, and `resumed`. */
struct replay_read {
    std::vector<std::uint64_t> seqs;
    std::size_t bytes = 0;
    json::value resumed;
    std::vector<json::value> others; // anything else (errors, pongs)
};

/** Reads events until `resumed` arrives; `resumed` stays null when the connection ends first. */
void read_until_resumed(ws_client& app, replay_read& out)
{
    for (;;) {
        auto text = app.read_text(30s);
        if (!text)
            return;
        auto m = json::parse(*text);
        auto type = m.at("type").as_string();
        if (type == "event") {
            out.seqs.push_back(seq_of(m));
            out.bytes += text->size();
        } else if (type == "resumed") {
            out.resumed = m;
            return;
        } else {
            out.others.push_back(m);
        }
    }
}

void check_in_order(std::vector<std::uint64_t> const& seqs)
{
    for (std::size_t i = 1; i < seqs.size(); ++i)
        REQUIRE(seqs[i] == seqs[i - 1] + 1);
}

using settings = std::map<std::string, std::string>;

/** A relayd with `env`, an owner, their device and its robot, connected. */
struct robot_setup {
    explicit robot_setup(settings env)
        : relayd(test_env(std::move(env))),
          owner(make_account(relayd.port())),
          dev(make_device(relayd.port(), owner)),
          robot(connect_robot(relayd.port(), dev))
    {
    }

    /** The robot publishes `count` events carrying `blob`; the relay has taken them all in. */
    void publish(int count, std::string const& blob)
    {
        for (int i = 0; i < count; ++i)
            robot->send(robot_event("telemetry", {{"i", i}, {"blob", blob}}));
        barrier(*robot);
    }

    /** A new app of the owner that asked to resume from `after_seq`. */
    std::unique_ptr<ws_client> resuming_app(std::uint64_t after_seq = 0)
    {
        auto app = connect_app(relayd.port(), owner);
        app->send(json::object{{"type", "resume"}, {"device_id", dev.device_id}, {"after_seq", after_seq}});
        return app;
    }

    relayd_process relayd;
    account owner;
    device_credentials dev;
    std::unique_ptr<ws_client> robot;
};

/** A gauge's value in /metrics. */
long long gauge(std::uint16_t port, std::string const& name)
{
    auto metrics = http_get(port, "/metrics").body;
    auto at = metrics.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stoll(metrics.substr(at + name.size() + 2));
}

/** Polls a gauge until it is `value` or `limit` has passed; returns its last value. */
long long gauge_within(std::uint16_t port, std::string const& name, long long value, std::chrono::seconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto now = gauge(port, name);
    while (now != value && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
        now = gauge(port, name);
    }
    return now;
}

} // namespace

TEST_CASE("one robot's large events are kept within the per-device byte bound; resume says what is gone")
{
    constexpr std::size_t bound = 1 << 20;
    robot_setup t(settings{{"RELAY_REPLAY_MAX_BYTES", std::to_string(bound)},
                   {"RELAY_REPLAY_MAX_TOTAL_BYTES", std::to_string(4 * bound)}});
    // 40 events of 256 KiB: 10 MiB, ten times what the device may keep.
    t.publish(40, std::string(256 * 1024, 'x'));

    auto app = t.resuming_app();
    replay_read got;
    read_until_resumed(*app, got);
    REQUIRE(!got.resumed.is_null()); // the unfixed relay kept all 10 MiB and dropped the app
    CHECK(got.bytes <= bound);
    CHECK(got.seqs.size() >= 1);
    CHECK(got.seqs.size() < 40);
    check_in_order(got.seqs);
    CHECK(got.resumed.at("complete") == false);
    CHECK(got.resumed.at("to_seq").to_number<std::uint64_t>() == got.seqs.back());

    CHECK(gauge(t.relayd.port(), "relay_history_bytes") <= static_cast<long long>(bound));
    auto metrics = http_get(t.relayd.port(), "/metrics").body;
    CHECK(metrics.find(R"(relay_history_evicted_events_total{reason="device_bytes"})") != std::string::npos);
}

TEST_CASE("a silent robot's events leave the history at the age limit, with nothing published after them")
{
    // 5 s: long enough for publish, barrier and one GET on a loaded machine to see them kept.
    robot_setup t(settings{{"RELAY_REPLAY_MAX_AGE", "5"}});
    auto watcher = connect_app(t.relayd.port(), t.owner);
    t.publish(5, "small");
    auto port = t.relayd.port();
    CHECK(gauge(port, "relay_history_events") == 5);
    auto seen = seq_of(watcher->expect("event"));
    watcher->close();
    // The sweep runs once a second; the events are 5 s old a few seconds later.
    CHECK(gauge_within(port, "relay_history_events", 0, 60s) == 0);
    CHECK(gauge(port, "relay_history_bytes") == 0);
    auto app = t.resuming_app(seen);
    CHECK(app->expect("resumed").at("complete") == false); // the four after `seen` are gone
}

TEST_CASE("resume of a 10 MB backlog arrives whole, in order, paced, and the app stays connected")
{
    // The history may keep all of it (16 MiB per device): more than the send queue's 8 MiB.
    robot_setup t(settings{{"RELAY_ROBOT_RATE", "100000/100000"}, {"RELAY_REPLAY_MAX_BYTES", std::to_string(16 << 20)}});
    constexpr int count = 1000;
    t.publish(count, std::string(10 * 1000, 'x'));

    auto app = t.resuming_app();
    replay_read got;
    read_until_resumed(*app, got);
    REQUIRE(!got.resumed.is_null()); // the unfixed relay closed the app (1006) with 0 events
    CHECK(got.seqs.size() == count);
    check_in_order(got.seqs);
    CHECK(got.resumed.at("complete") == true);
    CHECK(got.resumed.at("from_seq").to_number<std::uint64_t>() == got.seqs.front());
    CHECK(got.resumed.at("to_seq").to_number<std::uint64_t>() == got.seqs.back());
    barrier(*app, "still-open");
    auto metrics = http_get(t.relayd.port(), "/metrics").body;
    CHECK(metrics.find("relay_slow_consumer_drops_total 0") != std::string::npos);
}

TEST_CASE("resume with the default limits: what is kept arrives, complete:false, the app stays connected")
{
    robot_setup t(settings{{"RELAY_ROBOT_RATE", "100000/100000"}});
    t.publish(1000, std::string(10 * 1000, 'x'));

    auto app = t.resuming_app();
    replay_read got;
    read_until_resumed(*app, got);
    REQUIRE(!got.resumed.is_null());
    // 4 MiB per device by default: about 400 of the 1,000.
    CHECK(got.seqs.size() > 100);
    CHECK(got.bytes <= std::size_t(4) << 20);
    check_in_order(got.seqs);
    CHECK(got.resumed.at("complete") == false);
    barrier(*app, "still-open");
}

TEST_CASE("live events published during a replay arrive once, in order, after the replayed ones")
{
    // A 1 MiB send queue makes the replay many pages long, and 40 MB are more than the
    // loopback socket buffers hold: while the app does not read, the replay stalls unfinished.
    robot_setup t(settings{{"RELAY_ROBOT_RATE", "100000/100000"},
                   {"RELAY_SEND_QUEUE_MAX_BYTES", "1048576"},
                   {"RELAY_REPLAY_MAX_EVENTS", "5000"},
                   {"RELAY_REPLAY_MAX_BYTES", std::to_string(64 << 20)},
                   {"RELAY_REPLAY_MAX_TOTAL_BYTES", std::to_string(64 << 20)}});
    constexpr int before = 2000, during = 200;
    t.publish(before, std::string(20 * 1000, 'x'));

    auto app = t.resuming_app();
    // A second resume of the same device while the first runs is refused.
    app->send(json::object{{"type", "resume"}, {"device_id", t.dev.device_id}, {"after_seq", 0}});
    replay_read got;
    // The refusal may come before the first replayed event: the replay reads the history
    // beside the read loop (from Redis, a round trip away).
    while (got.seqs.empty()) {
        auto text = app->read_text(30s);
        REQUIRE(text); // the resume has begun
        auto m = json::parse(*text);
        if (m.at("type") == "event")
            got.seqs.push_back(seq_of(m));
        else
            got.others.push_back(m);
    }
    auto const base = got.seqs.front();

    // The app reads no further, so the replay waits for it; meanwhile the live events come,
    // and the relay has them all before the app reads on.
    for (int i = 0; i < during; ++i)
        t.robot->send(robot_event("telemetry", {{"i", before + i}, {"blob", "live"}}));
    barrier(*t.robot);
    read_until_resumed(*app, got);
    CAPTURE(got.seqs.size());
    CAPTURE(app->close_code());
    REQUIRE(!got.resumed.is_null()); // the unfixed relay dropped the app as a slow consumer
    REQUIRE(got.others.size() == 1);
    CHECK(got.others[0].at("type") == "error");
    CHECK(got.others[0].at("code") == "BAD_MESSAGE");
    CHECK(got.resumed.at("complete") == true);
    auto to_seq = got.resumed.at("to_seq").to_number<std::uint64_t>();
    CHECK(to_seq == got.seqs.back());
    // The replay carried live events published while it ran, in their place.
    CHECK(to_seq > base + before - 1);
    // The rest come live after `resumed`, still in order.
    while (got.seqs.size() < std::size_t(before + during)) {
        auto e = app->expect("event", 30s);
        REQUIRE(!e.is_null());
        CHECK(seq_of(e) > to_seq);
        got.seqs.push_back(seq_of(e));
    }
    check_in_order(got.seqs);
    CHECK(got.seqs.back() == base + before + during - 1);
    // Nothing more: every event came exactly once.
    app->send(json::object{{"type", "ping"}, {"id", "end"}});
    auto last = app->read_json(30s);
    REQUIRE(last);
    CHECK(last->at("type") == "pong");
}

TEST_CASE("an app that leaves in the middle of a replay ends it cleanly")
{
    robot_setup t(settings{{"RELAY_ROBOT_RATE", "100000/100000"},
                   {"RELAY_SEND_QUEUE_MAX_BYTES", "1048576"},
                   {"RELAY_REPLAY_MAX_BYTES", std::to_string(32 << 20)}});
    t.publish(600, std::string(20 * 1000, 'x'));

    for (int round = 0; round < 3; ++round) {
        auto leaver = t.resuming_app();
        CHECK(!leaver->expect("event", 30s).is_null());
        leaver->close();
    }
    // The relay carries on: a new app gets the whole replay, and the leavers are gone.
    auto app = t.resuming_app();
    replay_read got;
    read_until_resumed(*app, got);
    REQUIRE(!got.resumed.is_null());
    CHECK(got.seqs.size() == 600);
    // A leaver's read loop may end a little after its close.
    CHECK(gauge_within(t.relayd.port(), "relay_connections{kind=\"app\"}", 1, 10s) == 1);
}
