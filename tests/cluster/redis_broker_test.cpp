// The broker on Redis (librelay/src/cluster/redis_broker.cpp) against a real redis-server: the
// in-process broker's history and id cases run on both brokers, then what only Redis has:
// several nodes, epochs, the backlog while Redis is away, recovery after a reconnect.
#include "cluster/redis_broker.hpp"
#include "cluster/redis_broker_scripts.hpp"
#include "cluster/eventually.hpp"

#include <redis/redis_server.hpp>
#include <robot_sdk/muting_proxy.hpp>

#include <relay/protocol/errc.hpp>
#include <relay/routing/in_process_broker.hpp>
#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using relay::test::eventually;
namespace rt = relay::routing;
using relay::cluster::redis_settings;
using relay::test::redis::redis_server;

namespace {

struct recorder : rt::subscriber {
    std::mutex m;
    std::condition_variable cv;
    std::vector<rt::channel_message> got;

    void deliver(std::string const&, rt::channel_message const& msg) override
    {
        std::lock_guard l(m);
        got.push_back(msg);
        cv.notify_all();
    }
    /** The first `n` messages, once they are in (fewer when they did not come within 10 s). */
    std::vector<rt::channel_message> wait_for(std::size_t n, std::chrono::milliseconds limit = 10s)
    {
        std::unique_lock l(m);
        cv.wait_for(l, limit, [&] { return got.size() >= n; });
        return got;
    }
    std::vector<std::uint64_t> seqs()
    {
        std::lock_guard l(m);
        std::vector<std::uint64_t> out;
        for (auto const& g : got)
            out.push_back(g.seq);
        return out;
    }
};

/** Counts deliveries, for the measurement. */
struct counting : rt::subscriber {
    std::atomic<std::size_t> n{0};
    void deliver(std::string const&, rt::channel_message const&) override { ++n; }
};

/** An event's frame: {"label":"<label>","seq":N}. */
rt::frame_around_seq around(std::string const& label)
{
    return {"{\"label\":\"" + label + "\",\"seq\":", "}"};
}
std::string framed(std::string const& label, std::uint64_t seq)
{
    return "{\"label\":\"" + label + "\",\"seq\":" + std::to_string(seq) + "}";
}

struct publish_answer {
    bool answered = false;
    boost::system::error_code ec;
    rt::publish_result r;
};

/** publish(), waited for (10 s at most). */
publish_answer publish(rt::broker& b, std::string const& channel, std::optional<std::string_view> id,
                       std::string const& label = "x")
{
    auto p = std::make_shared<std::promise<publish_answer>>();
    auto f = p->get_future();
    b.publish(channel, id, around(label),
              [p](boost::system::error_code ec, rt::publish_result r) { p->set_value({true, ec, r}); });
    if (f.wait_for(10s) != std::future_status::ready)
        return {};
    return f.get();
}
std::uint64_t publish(rt::broker& b, std::string const& channel)
{
    auto a = publish(b, channel, std::nullopt);
    REQUIRE(a.answered);
    REQUIRE_FALSE(a.ec);
    return a.r.seq;
}

struct history_answer {
    bool answered = false;
    boost::system::error_code ec;
    rt::history_result r;
};

history_answer history_of(rt::broker& b, std::string const& channel, std::uint64_t after, rt::history_page page = {})
{
    auto p = std::make_shared<std::promise<history_answer>>();
    auto f = p->get_future();
    b.history(channel, after, page,
              [p](boost::system::error_code ec, rt::history_result r) { p->set_value({true, ec, std::move(r)}); });
    if (f.wait_for(10s) != std::future_status::ready)
        return {};
    return f.get();
}
rt::history_result history(rt::broker& b, std::string const& channel, std::uint64_t after, rt::history_page page = {})
{
    auto a = history_of(b, channel, after, page);
    REQUIRE(a.answered);
    REQUIRE_FALSE(a.ec);
    return a.r;
}

/** How many connections Redis delivers the device's channel to (one per subscribed node). */
long long numsub(redis_server const& redis, std::string const& device)
{
    return redis.command({"PUBSUB", "NUMSUB", "relay:{" + device + "}:ev"}).elements.at(1).integer;
}

redis_settings settings_for(std::uint16_t port, std::string node_id, std::size_t max_events = 1000,
                            std::chrono::seconds max_age = 600s)
{
    redis_settings s;
    s.where.host = "127.0.0.1";
    s.where.port = port;
    s.node_id = std::move(node_id);
    s.history_max_events = max_events;
    s.history_max_age = max_age;
    s.reconnect_min = 50ms;
    s.reconnect_max = 200ms;
    return s;
}

/** One node's broker on its own Redis client. */
struct redis_node {
    explicit redis_node(redis_settings const& s)
        : log(std::make_shared<relay::telemetry::logger>(relay::telemetry::log_level::error)),
          metrics(std::make_shared<relay::telemetry::registry>()),
          client(std::make_shared<relay::cluster::redis_client>(s, log, metrics)),
          broker(relay::cluster::make_redis_broker(client, s, log, metrics))
    {
        client->start();
        REQUIRE(eventually([&] { return client->up(); }));
    }
    ~redis_node() { client->stop(); }
    redis_node(redis_node const&) = delete;
    redis_node& operator=(redis_node const&) = delete;

    std::uint64_t counter(std::string_view name) { return metrics->get_counter(name, "").value(); }

    std::shared_ptr<relay::telemetry::logger> log;
    std::shared_ptr<relay::telemetry::registry> metrics;
    std::shared_ptr<relay::cluster::redis_client> client;
    std::shared_ptr<rt::broker> broker;
};

/** A broker for the cases both implementations must pass. */
struct tested {
    std::string name;
    std::unique_ptr<redis_server> server; // on Redis only
    std::unique_ptr<redis_node> node;
    std::unique_ptr<rt::in_process_broker> local;
    rt::broker& broker() { return local ? static_cast<rt::broker&>(*local) : *node->broker; }

    /** Waits until Redis delivers `channel` to this node: a SUBSCRIBE goes on the subscriber
     * connection, beside (not before) what the command connection publishes. */
    void wait_subscribed(std::string const& channel, long long nodes = 1)
    {
        if (server)
            REQUIRE(eventually([&] {
                return numsub(*server, channel) == nodes;
            }));
    }
};

std::vector<std::unique_ptr<tested>> both(std::size_t max_events, std::chrono::seconds max_age)
{
    std::vector<std::unique_ptr<tested>> out;
    auto in_process = std::make_unique<tested>();
    in_process->name = "in-process";
    in_process->local = std::make_unique<rt::in_process_broker>(rt::replay_limits{max_events, max_age});
    out.push_back(std::move(in_process));
    auto on_redis = std::make_unique<tested>();
    on_redis->name = "redis";
    on_redis->server = std::make_unique<redis_server>();
    on_redis->node = std::make_unique<redis_node>(settings_for(on_redis->server->port(), "n1", max_events, max_age));
    out.push_back(std::move(on_redis));
    return out;
}

} // namespace

// --- the in-process broker's cases, on both -------------------------------------------------------

TEST_CASE("redis broker: one frame per event, delivered in seq order to every subscriber, on both brokers")
{
    for (auto& t : both(100, 600s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        auto a = std::make_shared<recorder>();
        auto c = std::make_shared<recorder>();
        b.subscribe("d1", a);
        b.subscribe("d1", c);
        b.subscribe("d1", a); // twice is once
        CHECK(b.subscriber_count("d1") == 2);
        t->wait_subscribed("d1");
        auto first = publish(b, "d1");
        auto second = publish(b, "d1");
        CHECK(second == first + 1);
        auto got = a->wait_for(2);
        REQUIRE(got.size() == 2);
        CHECK(*got[0].frame == framed("x", first));
        CHECK(got[0].frame == c->wait_for(2)[0].frame); // the same bytes, shared
        CHECK(got[1].seq == second);
        b.unsubscribe("d1", a.get());
        auto third = publish(b, "d1");
        CHECK(c->wait_for(3).size() == 3); // c heard the third event, so a would have by now
        CHECK(a->seqs() == std::vector<std::uint64_t>{first, second});
        CHECK(c->seqs().back() == third);
    }
}

TEST_CASE("redis broker: history replays after a seq and reports completeness honestly, on both brokers")
{
    for (auto& t : both(3, 600s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        auto base = publish(b, "d");
        for (int i = 0; i < 4; ++i)
            publish(b, "d");
        // kept: base+2, base+3, base+4
        auto h = history(b, "d", base + 2);
        CHECK(h.complete);
        CHECK(h.last_seq == base + 4);
        REQUIRE(h.messages.size() == 2);
        CHECK(h.messages[0].seq == base + 3);
        CHECK(*h.messages[0].frame == framed("x", base + 3));

        auto lost = history(b, "d", base);
        CHECK_FALSE(lost.complete); // base+1 fell out of the buffer
        CHECK(lost.messages.size() == 3);

        auto up_to_date = history(b, "d", base + 4);
        CHECK(up_to_date.complete);
        CHECK(up_to_date.messages.empty());

        // A seq from before this numbering began: whatever happened in between is unknown.
        CHECK_FALSE(history(b, "d", 42).complete);
        CHECK_FALSE(history(b, "other", 42).complete);
        auto fresh = history(b, "other", 0);
        CHECK(fresh.complete);
        CHECK(fresh.messages.empty());

        // Presence is delivered but never kept.
        auto app = std::make_shared<recorder>();
        b.subscribe("d", app);
        t->wait_subscribed("d");
        b.publish_transient("d", std::make_shared<std::string const>("presence"));
        auto got = app->wait_for(1);
        REQUIRE(got.size() == 1);
        CHECK(got[0].seq == 0);
        CHECK(*got[0].frame == "presence");
        CHECK(history(b, "d", base + 4).messages.empty());
    }
}

TEST_CASE("redis broker: the age bound, on both brokers")
{
    for (auto& t : both(100, 0s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        auto s = publish(b, "d");
        std::this_thread::sleep_for(5ms);
        auto h = history(b, "d", s - 1);
        CHECK(h.messages.empty());
        CHECK_FALSE(h.complete);
    }
}

TEST_CASE("redis broker: the count bound per device, on both brokers")
{
    for (auto& t : both(2, 600s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        for (int i = 0; i < 5; ++i)
            publish(b, "d");
        CHECK(history(b, "d", 0).messages.size() == 2);
        CHECK_FALSE(history(b, "d", 0).complete);
    }
}

TEST_CASE("redis broker: a silent channel keeps its numbering after its events aged out, on both brokers")
{
    for (auto& t : both(100, 1s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        auto first = publish(b, "silent");
        auto second = publish(b, "silent");
        REQUIRE(eventually([&] { return history(b, "silent", 0).messages.empty(); }));
        b.sweep(std::chrono::steady_clock::now());
        // An app that saw the first event only has missed the second: never "complete".
        CHECK_FALSE(history(b, "silent", first).complete);
        // One that saw both missed nothing.
        CHECK(history(b, "silent", second).complete);
        // Published on again, the channel goes on by one: no jump an app would read as a gap.
        auto again = publish(b, "silent");
        CHECK(again == second + 1);
        auto h = history(b, "silent", second);
        CHECK(h.complete);
        CHECK(h.messages.size() == 1);
        CHECK_FALSE(history(b, "silent", 0).complete); // the first two are gone
    }
}

TEST_CASE("redis broker: a deleted device's channel, created again, never reuses a seq, on both brokers")
{
    for (auto& t : both(100, 600s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        publish(b, "d");
        auto last = publish(b, "d");
        b.drop_channel("d");
        REQUIRE(eventually([&] { return history(b, "d", 0).last_seq == 0; }));
        CHECK_FALSE(history(b, "d", last - 1).complete);
        auto again = publish(b, "d");
        CHECK(again > last);
        CHECK_FALSE(history(b, "d", last - 1).complete);
    }
}

TEST_CASE("redis broker: history pages, and completeness across pages, on both brokers")
{
    for (auto& t : both(100, 600s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        auto base = publish(b, "d");
        for (int i = 0; i < 9; ++i)
            publish(b, "d");
        auto size = history(b, "d", 0).messages.at(0).frame->size();
        auto p1 = history(b, "d", 0, {3, SIZE_MAX});
        REQUIRE(p1.messages.size() == 3);
        CHECK(p1.messages[0].seq == base);
        CHECK(p1.last_seq == base + 9);
        CHECK(p1.complete);
        auto p2 = history(b, "d", p1.messages.back().seq, {SIZE_MAX, 2 * size + size / 2});
        REQUIRE(p2.messages.size() == 2); // two frames fit, a third does not
        CHECK(p2.messages[0].seq == base + 3);
        CHECK(p2.complete);
        // A page always holds one message, however small the byte budget.
        CHECK(history(b, "d", base + 4, {SIZE_MAX, 1}).messages.size() == 1);
        b.drop_channel("d");
        REQUIRE(eventually([&] { return history(b, "d", 0).last_seq == 0; }));
        CHECK_FALSE(history(b, "d", base + 4).complete);
    }
}

TEST_CASE("redis broker: a re-sent id gets the kept seq and is neither delivered nor kept again, on both brokers")
{
    for (auto& t : both(100, 600s)) {
        CAPTURE(t->name);
        auto& b = t->broker();
        auto app = std::make_shared<recorder>();
        b.subscribe("d1", app);
        t->wait_subscribed("d1");
        auto first = publish(b, "d1", "e1");
        CHECK_FALSE(first.r.duplicate);
        auto other = publish(b, "d1", "e2");
        CHECK_FALSE(other.r.duplicate);
        CHECK(other.r.seq == first.r.seq + 1);

        auto again = publish(b, "d1", "e1", "again");
        REQUIRE(again.answered);
        CHECK_FALSE(again.ec);
        CHECK(again.r.duplicate);
        CHECK(again.r.seq == first.r.seq);
        CHECK(history(b, "d1", 0).messages.size() == 2);
        CHECK(history(b, "d1", 0).last_seq == other.r.seq); // the numbering did not move

        // Ids belong to a channel: another device's e1 is its own event.
        CHECK_FALSE(publish(b, "d2", "e1").r.duplicate);
        // Events without an id are never duplicates of anything; the last one is the barrier:
        // once it arrived, the re-sent e1 would have arrived before it.
        auto plain1 = publish(b, "d1", std::nullopt);
        auto plain2 = publish(b, "d1", std::nullopt, "barrier");
        CHECK_FALSE(plain1.r.duplicate);
        CHECK(plain2.r.seq == plain1.r.seq + 1);
        auto got = app->wait_for(4);
        REQUIRE(got.size() == 4);
        CHECK(*got[3].frame == framed("barrier", plain2.r.seq));
        CHECK(app->seqs() == std::vector<std::uint64_t>{first.r.seq, other.r.seq, plain1.r.seq, plain2.r.seq});
    }
}

TEST_CASE("redis broker: an id is remembered exactly as long as its event is kept, on both brokers")
{
    SUBCASE("the count bound")
    {
        for (auto& t : both(2, 600s)) {
            CAPTURE(t->name);
            auto& b = t->broker();
            auto first = publish(b, "d", "a");
            publish(b, "d", "b");
            CHECK(publish(b, "d", "a").r.duplicate);
            publish(b, "d", "c"); // pushes out a
            auto again = publish(b, "d", "a");
            CHECK_FALSE(again.r.duplicate);
            CHECK(again.r.seq > first.r.seq);
            CHECK(publish(b, "d", "c").r.duplicate);
        }
    }
    SUBCASE("the age bound")
    {
        for (auto& t : both(100, 1s)) {
            CAPTURE(t->name);
            auto& b = t->broker();
            auto first = publish(b, "d", "a");
            REQUIRE(eventually([&] { return history(b, "d", 0).messages.empty(); }));
            auto again = publish(b, "d", "a");
            CHECK_FALSE(again.r.duplicate);
            CHECK(again.r.seq == first.r.seq + 1);
        }
    }
    SUBCASE("a dropped channel")
    {
        for (auto& t : both(100, 600s)) {
            CAPTURE(t->name);
            auto& b = t->broker();
            publish(b, "d", "a");
            b.drop_channel("d");
            REQUIRE(eventually([&] { return history(b, "d", 0).last_seq == 0; }));
            CHECK_FALSE(publish(b, "d", "a").r.duplicate);
        }
    }
    SUBCASE("a history that keeps nothing recognises nothing")
    {
        for (auto& t : both(0, 600s)) {
            CAPTURE(t->name);
            auto& b = t->broker();
            auto first = publish(b, "d", "a");
            auto again = publish(b, "d", "a");
            CHECK_FALSE(again.r.duplicate);
            CHECK(again.r.seq == first.r.seq + 1);
        }
    }
}

// --- what only Redis has -------------------------------------------------------------------------

TEST_CASE("redis broker: the keys, their fields and their lifetime")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1", 100, 60s));
    auto first = publish(*node.broker, "dev-1", "id-1");
    publish(*node.broker, "dev-1", std::nullopt);
    auto meta = redis.command({"HGETALL", "relay:{dev-1}:meta"});
    REQUIRE(meta.elements.size() == 4);
    CHECK(redis.command({"HGET", "relay:{dev-1}:meta", "s"}).str == std::to_string(first.r.seq + 1));
    CHECK(redis.command({"HGET", "relay:{dev-1}:meta", "e"}).str == std::to_string(first.r.seq));
    auto entry = redis.command({"XRANGE", "relay:{dev-1}:hist", "-", "+", "COUNT", "1"});
    REQUIRE(entry.elements.size() == 1);
    CHECK(entry.elements[0].elements[0].str == std::to_string(first.r.seq) + "-0");
    auto const& fields = entry.elements[0].elements[1].elements;
    REQUIRE(fields.size() == 6);
    CHECK(fields[0].str == "f");
    CHECK(fields[1].str == framed("x", first.r.seq));
    CHECK(fields[2].str == "t");
    CHECK(fields[4].str == "i");
    CHECK(fields[5].str == "id-1");
    CHECK(redis.command({"ZSCORE", "relay:{dev-1}:ids", "id-1"}).str == std::to_string(first.r.seq));
    // Every key goes by itself once the device is silent for long enough (age bound + margin).
    for (auto key : {"relay:{dev-1}:meta", "relay:{dev-1}:hist", "relay:{dev-1}:ids"}) {
        CAPTURE(key);
        auto ttl = redis.command({"PTTL", key}).integer;
        CHECK(ttl > 60'000);
        CHECK(ttl <= 180'000);
    }
}

TEST_CASE("redis broker: two nodes on one Redis: an event published on one reaches the other's subscribers and history")
{
    redis_server redis;
    redis_node a(settings_for(redis.port(), "a"));
    redis_node b(settings_for(redis.port(), "b"));
    auto app = std::make_shared<recorder>();
    b.broker->subscribe("d", app);
    REQUIRE(eventually([&] { return numsub(redis, "d") == 1; }));
    auto first = publish(*a.broker, "d", "e1");
    auto second = publish(*a.broker, "d", "e2");
    auto got = app->wait_for(2);
    REQUIRE(got.size() == 2);
    CHECK(*got[0].frame == framed("x", first.r.seq));
    CHECK(got[1].seq == second.r.seq);
    // B's resume sees what A published.
    auto h = history(*b.broker, "d", 0);
    CHECK(h.complete);
    CHECK(h.messages.size() == 2);
    // The robot re-sends e1 to B (its first node died before the ack): recognised there too.
    auto again = publish(*b.broker, "d", "e1");
    CHECK(again.r.duplicate);
    CHECK(again.r.seq == first.r.seq);
    auto third = publish(*b.broker, "d", "e3"); // the barrier
    REQUIRE(app->wait_for(3).size() == 3);
    CHECK(app->seqs() == std::vector<std::uint64_t>{first.r.seq, second.r.seq, third.r.seq});
    CHECK(a.counter("relay_redis_published_total") == 2);
    CHECK(b.counter("relay_redis_published_total") == 1);
    CHECK(b.counter("relay_redis_delivered_total") == 3);
}

TEST_CASE("redis broker: SUBSCRIBE on a node's first local subscriber only, UNSUBSCRIBE after its last")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1"));
    auto one = std::make_shared<recorder>();
    auto two = std::make_shared<recorder>();
    node.broker->subscribe("d", one);
    node.broker->subscribe("d", two);
    REQUIRE(eventually([&] { return numsub(redis, "d") == 1; }));
    CHECK(node.broker->subscriber_count("d") == 2);
    node.broker->unsubscribe("d", one.get());
    CHECK(node.broker->subscriber_count("d") == 1);
    publish(*node.broker, "d"); // delivered through Redis: the channel is still subscribed
    REQUIRE(two->wait_for(1).size() == 1);
    CHECK(numsub(redis, "d") == 1);
    node.broker->unsubscribe("d", two.get());
    CHECK(node.broker->subscriber_count("d") == 0);
    CHECK(eventually([&] { return numsub(redis, "d") == 0; }));
    // A subscriber that went away without unsubscribing is tidied by sweep.
    auto gone = std::make_shared<recorder>();
    node.broker->subscribe("e", gone);
    REQUIRE(eventually([&] { return numsub(redis, "e") == 1; }));
    gone.reset();
    node.broker->sweep(std::chrono::steady_clock::now());
    CHECK(eventually([&] { return numsub(redis, "e") == 0; }));
    // The node's own channel is not a device's: nothing of it reaches the broker's subscribers.
    CHECK(node.client->own_channel().rfind("relay:{", 0) == std::string::npos);
}

TEST_CASE("redis broker: Redis losing its data starts a new epoch: seq still above the old ones, resume incomplete")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1"));
    publish(*node.broker, "d", "e1");
    auto old_last = publish(*node.broker, "d", "e2").r.seq;

    SUBCASE("FLUSHALL")
    {
        redis.command({"FLUSHALL"});
    }
    SUBCASE("a restart without persistence")
    {
        redis.kill();
        REQUIRE(eventually([&] { return !node.client->up(); }));
        redis.start();
        REQUIRE(eventually([&] { return node.client->up(); }));
    }
    auto h = history(*node.broker, "d", old_last);
    CHECK(h.last_seq == 0);
    CHECK_FALSE(h.complete);
    auto next = publish(*node.broker, "d", "e1"); // the ids went with the history
    REQUIRE(next.answered);
    CHECK_FALSE(next.ec);
    CHECK_FALSE(next.r.duplicate);
    CHECK(next.r.seq > old_last + 1);
    auto after = history(*node.broker, "d", old_last);
    CHECK_FALSE(after.complete);
    REQUIRE(after.messages.size() == 1);
    CHECK(after.messages[0].seq == next.r.seq);
    CHECK(history(*node.broker, "d", 0).complete);
}

TEST_CASE("redis broker: while Redis is away publishes wait in order, and are published once each when it is back")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1"));
    auto app = std::make_shared<recorder>();
    node.broker->subscribe("d", app);
    REQUIRE(eventually([&] { return numsub(redis, "d") == 1; }));
    auto before = publish(*node.broker, "d", "before");
    REQUIRE(app->wait_for(1).size() == 1);

    redis.kill();
    REQUIRE(eventually([&] { return !node.client->up(); }));
    // history is out of reach at once.
    auto h = history_of(*node.broker, "d", 0);
    REQUIRE(h.answered);
    CHECK(h.ec == relay::errc::unavailable);

    constexpr int waiting = 20;
    std::mutex m;
    std::vector<std::pair<int, publish_answer>> answers;
    for (int i = 0; i < waiting; ++i) {
        std::optional<std::string> id;
        if (i % 2 == 0)
            id = "w" + std::to_string(i);
        node.broker->publish("d", id, around("w" + std::to_string(i)),
                             [&m, &answers, i](boost::system::error_code ec, rt::publish_result r) {
                                 std::lock_guard l(m);
                                 answers.push_back({i, {true, ec, r}});
                             });
    }
    {
        std::lock_guard l(m);
        CHECK(answers.empty()); // nothing is answered while Redis is away
    }
    redis.start();
    REQUIRE(eventually([&] {
        std::lock_guard l(m);
        return answers.size() == waiting;
    }));
    std::lock_guard l(m);
    for (int i = 0; i < waiting; ++i) {
        CAPTURE(i);
        CHECK(answers[i].first == i); // answered in order
        CHECK_FALSE(answers[i].second.ec);
        CHECK_FALSE(answers[i].second.r.duplicate);
        if (i > 0)
            CHECK(answers[i].second.r.seq == answers[i - 1].second.r.seq + 1);
    }
    // The restarted Redis is empty: a new epoch, above the old seqs.
    CHECK(answers[0].second.r.seq > before.r.seq);
    // Kept once each, in order; the subscriber got each once, in order (through the recovery read
    // or live, never both).
    auto kept = history(*node.broker, "d", 0);
    REQUIRE(kept.messages.size() == waiting);
    for (int i = 0; i < waiting; ++i)
        CHECK(*kept.messages[i].frame == framed("w" + std::to_string(i), answers[i].second.r.seq));
    auto got = app->wait_for(1 + waiting);
    REQUIRE(got.size() == 1 + waiting);
    for (int i = 0; i < waiting; ++i)
        CHECK(got[1 + i].seq == answers[i].second.r.seq);
}

TEST_CASE("redis broker: Redis killed and restarted while a robot publishes: every event answered once, in order, kept once")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1"));
    constexpr int events = 300;
    std::mutex m;
    std::vector<std::pair<int, publish_answer>> answers;
    std::atomic<int> sent{0};
    std::thread robot([&] {
        for (int i = 0; i < events; ++i) {
            node.broker->publish("d", "e" + std::to_string(i), around(std::to_string(i)),
                                 [&m, &answers, i](boost::system::error_code ec, rt::publish_result r) {
                                     std::lock_guard l(m);
                                     answers.push_back({i, {true, ec, r}});
                                 });
            ++sent;
            std::this_thread::sleep_for(1ms);
        }
    });
    REQUIRE(eventually([&] { return sent >= events / 4; }));
    redis.kill();
    REQUIRE(eventually([&] { return !node.client->up() || sent == events; }));
    REQUIRE(eventually([&] { return sent >= events / 2; }));
    redis.start();
    robot.join();
    REQUIRE(eventually([&] {
        std::lock_guard l(m);
        return answers.size() == events;
    }, 30s));
    std::lock_guard l(m);
    for (int i = 0; i < events; ++i) {
        CAPTURE(i);
        CHECK(answers[i].first == i);
        CHECK_FALSE(answers[i].second.ec);
    }
    // The restarted Redis holds, once each and in order, every event from the first it kept on.
    auto kept = history(*node.broker, "d", 0);
    REQUIRE_FALSE(kept.messages.empty());
    auto const& first = *kept.messages.front().frame;
    int from = std::stoi(first.substr(first.find(':') + 2));
    CHECK(from > 0); // the first events were kept by the Redis that died
    REQUIRE(kept.messages.size() == static_cast<std::size_t>(events - from));
    for (int i = from; i < events; ++i)
        CHECK(*kept.messages[i - from].frame == framed(std::to_string(i), answers[i].second.r.seq));
}

TEST_CASE("redis broker: the backlog is bounded: beyond it publishers hear UNAVAILABLE at once")
{
    redis_server redis;
    auto s = settings_for(redis.port(), "n1");
    s.backlog_max_events = 3;
    redis_node node(s);
    redis.kill();
    REQUIRE(eventually([&] { return !node.client->up(); }));
    std::mutex m;
    std::vector<std::pair<int, boost::system::error_code>> answers;
    for (int i = 0; i < 5; ++i)
        node.broker->publish("d", "id" + std::to_string(i), around("b" + std::to_string(i)),
                             [&m, &answers, i](boost::system::error_code ec, rt::publish_result) {
                                 std::lock_guard l(m);
                                 answers.push_back({i, ec});
                             });
    node.broker->publish("d", std::nullopt, around("no-id"), nullptr); // dropped, counted
    {
        std::lock_guard l(m);
        REQUIRE(answers.size() == 2);
        CHECK(answers[0] == std::pair<int, boost::system::error_code>{3, relay::errc::unavailable});
        CHECK(answers[1] == std::pair<int, boost::system::error_code>{4, relay::errc::unavailable});
    }
    CHECK(node.counter("relay_redis_backlog_dropped_total") == 3);
    redis.start();
    REQUIRE(eventually([&] {
        std::lock_guard l(m);
        return answers.size() == 5;
    }));
    std::lock_guard l(m);
    for (int i = 2; i < 5; ++i)
        CHECK_FALSE(answers[i].second);
    CHECK(history(*node.broker, "d", 0).messages.size() == 3);
}

TEST_CASE("redis broker: after its subscription was down a node delivers what others published meanwhile, in order, once")
{
    redis_server redis;
    relay::test::muting_proxy path(redis.port()); // node B reaches Redis through it
    redis_node a(settings_for(redis.port(), "a"));
    redis_node b(settings_for(path.port(), "b"));
    auto app = std::make_shared<recorder>();
    auto quiet_app = std::make_shared<recorder>();
    b.broker->subscribe("d", app);
    b.broker->subscribe("quiet", quiet_app); // nothing delivered yet: recovered from where it stood
    REQUIRE(eventually([&] { return numsub(redis, "d") == 1; }));
    auto first = publish(*a.broker, "d", "live-1");
    REQUIRE(app->wait_for(1).size() == 1);
    // The quiet channel's position is known once B's HGET answered; a history read on B's pipelined
    // connection after it is the barrier.
    history(*b.broker, "quiet", 0);

    SUBCASE("same epoch")
    {
        path.refuse_new(true);
        path.cut();
        REQUIRE(eventually([&] { return !b.client->up(); }));
        std::vector<std::uint64_t> meanwhile;
        for (int i = 0; i < 5; ++i)
            meanwhile.push_back(publish(*a.broker, "d", "m" + std::to_string(i)).r.seq);
        auto quiet_seq = publish(*a.broker, "quiet", "q").r.seq;
        path.refuse_new(false);
        REQUIRE(eventually([&] { return b.client->up(); }));
        auto later = publish(*a.broker, "d", "live-2").r.seq;
        auto got = app->wait_for(7);
        REQUIRE(got.size() == 7);
        std::vector<std::uint64_t> expected{first.r.seq};
        expected.insert(expected.end(), meanwhile.begin(), meanwhile.end());
        expected.push_back(later);
        CHECK(app->seqs() == expected);
        auto quiet = quiet_app->wait_for(1);
        REQUIRE(quiet.size() == 1);
        CHECK(quiet[0].seq == quiet_seq);
        // The five and the quiet one; live-2 too when it was kept before the read ran.
        // Counted once the read's messages are handed over: a moment after the app has them.
        CHECK(eventually([&] { return b.counter("relay_redis_recovered_events_total") >= 6; }));
        CHECK(b.counter("relay_redis_gaps_total") == 0);
    }
    SUBCASE("Redis lost the history meanwhile: a new epoch, delivered as it is, counted as a gap")
    {
        path.refuse_new(true);
        path.cut();
        REQUIRE(eventually([&] { return !b.client->up(); }));
        redis.command({"FLUSHALL"});
        auto renewed = publish(*a.broker, "d", "m").r.seq;
        path.refuse_new(false);
        REQUIRE(eventually([&] { return b.client->up(); }));
        auto got = app->wait_for(2);
        REQUIRE(got.size() == 2);
        CHECK(got[1].seq == renewed);
        CHECK(renewed > first.r.seq + 1); // the jump the app reads as a gap
        CHECK(eventually([&] { return b.counter("relay_redis_gaps_total") == 1; }));
    }
}

TEST_CASE("redis broker: a node that sees a seq skipped reads what it missed from the history, before the newer event")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1"));
    auto app = std::make_shared<recorder>();
    node.broker->subscribe("d", app);
    REQUIRE(eventually([&] { return numsub(redis, "d") == 1; }));
    auto first = publish(*node.broker, "d", "one");
    REQUIRE(app->wait_for(1).size() == 1);
    // An event kept but whose message never reached this node (published to another channel).
    auto missed = redis.command({"EVAL", relay::cluster::broker_scripts::publish, "3", "relay:{d}:meta", "relay:{d}:hist",
                                 "relay:{d}:ids", "{\"label\":\"missed\",\"seq\":", "}", "two", "1000", "600000",
                                 "1320000", "relay:{elsewhere}:ev"});
    REQUIRE(missed.elements.size() == 3);
    auto third = publish(*node.broker, "d", "three");
    auto got = app->wait_for(3);
    REQUIRE(got.size() == 3);
    CHECK(*got[1].frame == framed("missed", first.r.seq + 1));
    CHECK(got[2].seq == third.r.seq);
    CHECK(app->seqs() == std::vector<std::uint64_t>{first.r.seq, first.r.seq + 1, third.r.seq});
    CHECK(eventually([&] { return node.counter("relay_redis_recovered_events_total") >= 1; }));
    CHECK(node.counter("relay_redis_gaps_total") == 0);
}

TEST_CASE("redis broker: a burst on a new channel reaches a node's subscriber whole, in order, though the history keeps less")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1", 5));
    auto app = std::make_shared<recorder>();
    node.broker->subscribe("d", app);
    REQUIRE(eventually([&] { return numsub(redis, "d") == 1; }));
    // The first message makes the node read what is kept (it cannot tell whether it missed the
    // epoch's first events); by then the history holds only the last five, and every message
    // that arrived meanwhile is still delivered.
    constexpr std::size_t events = 200;
    for (std::size_t i = 0; i < events; ++i)
        node.broker->publish("d", std::nullopt, around(std::to_string(i)), nullptr);
    auto got = app->wait_for(events);
    REQUIRE(got.size() == events);
    for (std::size_t i = 1; i < events; ++i)
        REQUIRE(got[i].seq == got[i - 1].seq + 1);
    CHECK(*got.back().frame == framed(std::to_string(events - 1), got.back().seq));
    CHECK(node.counter("relay_redis_gaps_total") == 0);
}

TEST_CASE("redis broker: a device deleted while Redis is away loses its keys once Redis is back, after its waiting events")
{
    redis_server redis;
    relay::test::muting_proxy path(redis.port());
    redis_node node(settings_for(path.port(), "n1"));
    publish(*node.broker, "d", "e1");
    path.refuse_new(true);
    path.cut();
    REQUIRE(eventually([&] { return !node.client->up(); }));
    auto p = std::make_shared<std::promise<boost::system::error_code>>();
    node.broker->publish("d", "e2", around("waiting"),
                         [p](boost::system::error_code ec, rt::publish_result) { p->set_value(ec); });
    node.broker->drop_channel("d");
    path.refuse_new(false);
    auto answer = p->get_future();
    REQUIRE(answer.wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(answer.get());
    // The DEL went after the event on the same pipelined connection: a history read after both
    // finds nothing.
    CHECK(history(*node.broker, "d", 0).last_seq == 0);
    CHECK(redis.command({"EXISTS", "relay:{d}:meta", "relay:{d}:hist", "relay:{d}:ids"}).integer == 0);
}

TEST_CASE("redis broker: presence while Redis is away reaches this node's subscribers only")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1"));
    auto app = std::make_shared<recorder>();
    node.broker->subscribe("d", app);
    redis.kill();
    REQUIRE(eventually([&] { return !node.client->up(); }));
    node.broker->publish_transient("d", std::make_shared<std::string const>("robot_disconnected"));
    auto got = app->wait_for(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].seq == 0);
}

TEST_CASE("redis broker: publish throughput on loopback (measured, not asserted)")
{
    redis_server redis;
    redis_node node(settings_for(redis.port(), "n1"));
    for (std::size_t subscribers : {std::size_t(1), std::size_t(100)}) {
        std::vector<std::shared_ptr<counting>> apps;
        auto channel = "bench-" + std::to_string(subscribers);
        for (std::size_t i = 0; i < subscribers; ++i) {
            apps.push_back(std::make_shared<counting>());
            node.broker->subscribe(channel, apps.back());
        }
        REQUIRE(eventually([&] { return numsub(redis, channel) == 1; }));
        constexpr std::size_t events = 20000;
        std::atomic<std::size_t> answered{0};
        auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < events; ++i)
            node.broker->publish(channel, std::nullopt, around("b"),
                                 [&answered](boost::system::error_code, rt::publish_result) { ++answered; });
        REQUIRE(eventually([&] { return answered == events; }, 120s));
        auto published = std::chrono::steady_clock::now();
        REQUIRE(eventually([&] { return apps.back()->n == events; }, 120s));
        auto delivered = std::chrono::steady_clock::now();
        auto secs = [&](auto t) { return std::chrono::duration<double>(t - start).count(); };
        MESSAGE(subscribers << " local subscriber(s): " << events << " events published in " << secs(published)
                            << " s (" << events / secs(published) << " events/s), all delivered after "
                            << secs(delivered) << " s (" << events * subscribers / secs(delivered)
                            << " deliveries/s)");
    }
}
