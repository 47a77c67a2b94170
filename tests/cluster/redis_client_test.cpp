// The node's Redis connections (librelay/src/cluster/redis_client.hpp) against a real
// redis-server: the shared one for plain client behaviour (keys and channels of their own), a
// private one wherever a case kills, pauses, flushes or configures Redis.
#include "cluster/redis_client.hpp"
#include "cluster/eventually.hpp"
#include "redis/redis_server.hpp"
#include "store/store_fixture.hpp"

#include <relay_support/process.hpp>

#include <relay/protocol/errc.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using relay::test::eventually;
using relay::cluster::redis_client;
using relay::cluster::redis_reply;
using relay::cluster::redis_script;
using relay::cluster::redis_settings;
using relay::test::redis::redis_server;
using relay::test::redis::shared_redis;

/** A name no other test process or case uses (keys, channels and node ids on the shared server). */
std::string unique_name(std::string_view what)
{
    static std::atomic<unsigned> made{0};
    static auto const salt = std::random_device{}();
    return std::string(what) + "-" + std::to_string(::getpid()) + "-" + std::to_string(salt % 100000) + "-" +
           std::to_string(++made);
}

/** Settings for `url` with short times, so that failures and recoveries show within a test. */
redis_settings settings_for(std::string const& url)
{
    std::string why;
    auto where = relay::cluster::parse_redis_url(url, &why);
    REQUIRE_MESSAGE(where, why);
    redis_settings s;
    s.where = *where;
    s.node_id = unique_name("node");
    // Short enough to see failures and recoveries within a test, long enough that a loaded
    // machine does not drop a healthy connection.
    s.connect_timeout = 2s;
    s.reconnect_min = 5ms;
    s.reconnect_max = 50ms;
    s.command_timeout = 5s;
    s.probe_interval = 50ms;
    s.probe_timeout = 2s;
    return s;
}

struct answer {
    boost::system::error_code ec;
    redis_reply reply;
};

/** Runs one command and waits for its answer (bounded). */
answer call(redis_client& client, std::vector<std::string> argv)
{
    auto done = std::make_shared<std::promise<answer>>();
    auto got = done->get_future();
    client.command(std::move(argv), [done](boost::system::error_code ec, redis_reply r) {
        done->set_value({ec, std::move(r)});
    });
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    return got.get();
}

answer call_eval(redis_client& client, redis_script const& script, std::vector<std::string> keys,
                 std::vector<std::string> args)
{
    auto done = std::make_shared<std::promise<answer>>();
    auto got = done->get_future();
    client.eval(script, std::move(keys), std::move(args), [done](boost::system::error_code ec, redis_reply r) {
        done->set_value({ec, std::move(r)});
    });
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    return got.get();
}

/** What a client saw: its state changes and the messages of its handlers. */
struct observed {
    std::mutex mutex;
    std::vector<bool> states;
    std::vector<std::pair<std::string, std::string>> messages; ///< (handler prefix, channel + "=" + payload)

    int ups()
    {
        std::lock_guard lock(mutex);
        return static_cast<int>(std::count(states.begin(), states.end(), true));
    }
    int downs()
    {
        std::lock_guard lock(mutex);
        return static_cast<int>(std::count(states.begin(), states.end(), false));
    }
    std::size_t message_count()
    {
        std::lock_guard lock(mutex);
        return messages.size();
    }
};

/** A client with its logger, registry and observer; stopped by the destructor. */
struct client_under_test {
    explicit client_under_test(redis_settings s, std::vector<std::string> prefixes = {})
        : metrics(std::make_shared<relay::telemetry::registry>()),
          client(std::make_shared<redis_client>(
              s, std::shared_ptr<relay::telemetry::logger>(std::shared_ptr<void>{}, log.get()), metrics))
    {
        client->on_state([this](bool up) {
            std::lock_guard lock(seen.mutex);
            seen.states.push_back(up);
        });
        for (auto const& prefix : prefixes)
            client->on_message(prefix, [this, prefix](std::string_view channel, std::string_view payload) {
                std::lock_guard lock(seen.mutex);
                seen.messages.emplace_back(prefix, std::string(channel) + "=" + std::string(payload));
            });
        client->start();
    }
    ~client_under_test() { client->stop(); }

    bool becomes_up(int ups = 1)
    {
        if (eventually([&] { return seen.ups() >= ups && client->up(); }))
            return true;
        MESSAGE("not up: " << client->health() << "\nlog:\n" << log.text());
        return false;
    }

    relay::store::test::captured_log log;
    std::shared_ptr<relay::telemetry::registry> metrics;
    observed seen;
    std::shared_ptr<redis_client> client;
};

std::size_t open_fds()
{
    std::size_t n = 0;
    for ([[maybe_unused]] auto const& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

std::size_t threads()
{
    std::size_t n = 0;
    for ([[maybe_unused]] auto const& entry : std::filesystem::directory_iterator("/proc/self/task"))
        ++n;
    return n;
}

} // namespace

TEST_CASE("redis client: URLs are parsed strictly and redacted")
{
    using relay::cluster::parse_redis_url;
    using relay::cluster::redact_redis_url;

    auto plain = parse_redis_url("redis://cache.internal");
    REQUIRE(plain);
    CHECK(plain->host == "cache.internal");
    CHECK(plain->port == 6379);
    CHECK(plain->password.empty());
    CHECK(plain->db == 0);

    auto full = parse_redis_url("redis://:p%40ss@10.0.0.5:6380/3");
    REQUIRE(full);
    CHECK(full->host == "10.0.0.5");
    CHECK(full->port == 6380);
    CHECK(full->password == "p@ss");
    CHECK(full->db == 3);
    CHECK(parse_redis_url("redis://default:pw@h:1/")->password == "pw");
    CHECK(parse_redis_url("redis://h/42")->db == 42);
    CHECK(parse_redis_url("redis://[::1]:7000")->host == "::1");

    for (auto const* bad : {"", "cache:6379", "http://h:6379", "rediss://h:6379", "redis://", "redis://h:0",
                            "redis://h:70000", "redis://h:port", "redis://h/x", "redis://h/-1", "redis://h/1/2",
                            "redis://h?db=1", "redis://h#x", "redis://alice:pw@h"}) {
        std::string why;
        auto r = parse_redis_url(bad, &why);
        CHECK_MESSAGE(!r, std::string(bad));
        CHECK_MESSAGE(!why.empty(), std::string(bad));
    }
    std::string why;
    CHECK_FALSE(parse_redis_url("redis://alice:topsecret@h", &why));
    CHECK(why.find("topsecret") == std::string::npos);

    CHECK(redact_redis_url("redis://:topsecret@h:6379/2") == "redis://:***@h:6379/2");
    CHECK(redact_redis_url("redis://h:6379") == "redis://h:6379");
    CHECK(redact_redis_url("::not a url") == "redis://(unparsable URL)");
}

TEST_CASE("redis client: commands are answered in order, 1,000 pipelined")
{
    redis_client idle(settings_for(shared_redis().url()), nullptr, nullptr);
    CHECK(idle.health() == "not started");
    CHECK_FALSE(idle.up());

    client_under_test t(settings_for(shared_redis().url()));
    REQUIRE(t.becomes_up());
    CHECK(t.client->health().empty());

    auto const key = unique_name("test:counter");
    std::mutex mutex;
    std::vector<std::int64_t> values;
    std::promise<void> all;
    constexpr int n = 1000;
    for (int i = 0; i < n; ++i)
        t.client->command({"INCR", key}, [&, i](boost::system::error_code ec, redis_reply r) {
            std::lock_guard lock(mutex);
            values.push_back(ec ? -1 : r.integer);
            if (i == n - 1)
                all.set_value();
        });
    REQUIRE(all.get_future().wait_for(10s) == std::future_status::ready);
    REQUIRE(values.size() == n);
    for (int i = 0; i < n; ++i)
        REQUIRE(values[static_cast<std::size_t>(i)] == i + 1);

    // Binary-safe both ways.
    auto const bytes = std::string("a\0b\r\n", 5);
    CHECK(call(*t.client, {"SET", key + ":bin", bytes}).reply.str == "OK");
    CHECK(call(*t.client, {"GET", key + ":bin"}).reply.str == bytes);
    call(*t.client, {"DEL", key, key + ":bin"});

    // The round trip on loopback, one command at a time (reported, not asserted).
    std::vector<double> micros;
    for (int i = 0; i < 200; ++i) {
        auto const start = std::chrono::steady_clock::now();
        REQUIRE_FALSE(call(*t.client, {"PING"}).ec);
        micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(micros.begin(), micros.end());
    MESSAGE("command round trip on loopback: p50 " << micros[100] << " us, p99 " << micros[198] << " us");
}

TEST_CASE("redis client: nothing listening: down, health says why, retried until stopped")
{
    auto const port = relay::support::free_loopback_port();
    client_under_test t(settings_for("redis://127.0.0.1:" + std::to_string(port)));
    REQUIRE(eventually([&] { return t.client->health().find("refused") != std::string::npos; }));
    CHECK(t.client->health().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    CHECK_FALSE(t.client->up());
    CHECK(call(*t.client, {"PING"}).ec == relay::errc::unavailable);
    auto const& retries = t.metrics->get_counter("relay_redis_reconnects_total", "", {{"connection", "command"}});
    REQUIRE(eventually([&] { return retries.value() >= 3; }));
    t.client->stop();
    CHECK(t.client->health() == "stopped");
    CHECK(t.seen.ups() == 0);
    CHECK(t.seen.downs() == 0); // never up, so never down
}

TEST_CASE("redis client: a host name is resolved beside the client's thread")
{
    auto s = settings_for(shared_redis().url());
    s.where.host = "localhost";
    client_under_test t(s);
    REQUIRE(t.becomes_up());
    CHECK(call(*t.client, {"PING"}).reply.str == "PONG");
}

TEST_CASE("redis client: replies larger than a socket read arrive whole")
{
    client_under_test t(settings_for(shared_redis().url()));
    REQUIRE(t.becomes_up());
    auto const key = unique_name("test:big");
    // hiredis reads 16 KiB at a time: a reply of megabytes takes many reads of what is already
    // in the socket, with no new data to wake the reactor in between.
    std::string value(4 << 20, 'x');
    for (std::size_t i = 0; i < value.size(); i += 4096)
        value[i] = static_cast<char>('a' + (i / 4096) % 26);
    CHECK(call(*t.client, {"SET", key, value}).reply.str == "OK");
    auto got = call(*t.client, {"GET", key});
    CHECK_FALSE(got.ec);
    CHECK(got.reply.str == value);

    // Replies that fit in the socket's buffer at once, several times a 16 KiB read.
    for (std::size_t size : {16383u, 16384u, 16385u, 40000u, 100000u, 200000u}) {
        CHECK(call(*t.client, {"SET", key, value.substr(0, size)}).reply.str == "OK");
        CHECK(call(*t.client, {"GET", key}).reply.str.size() == size);
    }

    std::vector<std::string> push{"RPUSH", key + ":list"};
    for (int i = 0; i < 2000; ++i)
        push.push_back(std::string(1000, static_cast<char>('a' + i % 26)));
    CHECK(call(*t.client, push).reply.integer == 2000);
    auto list = call(*t.client, {"LRANGE", key + ":list", "0", "-1"});
    CHECK(list.reply.elements.size() == 2000);
    call(*t.client, {"DEL", key, key + ":list"});
}

TEST_CASE("redis client: an error reply is a reply, not an error code")
{
    client_under_test t(settings_for(shared_redis().url()));
    REQUIRE(t.becomes_up());
    auto const key = unique_name("test:text");
    call(*t.client, {"SET", key, "not a number"});
    auto a = call(*t.client, {"INCR", key});
    CHECK_FALSE(a.ec);
    CHECK(a.reply.is_error());
    CHECK(a.reply.str.find("not an integer") != std::string::npos);
    auto b = call(*t.client, {"NO-SUCH-COMMAND"});
    CHECK_FALSE(b.ec);
    CHECK(b.reply.is_error());
    // The connection goes on.
    CHECK(call(*t.client, {"DEL", key}).reply.integer == 1);
}

TEST_CASE("redis client: EVALSHA falls back to EVAL once the script is gone")
{
    redis_server server;
    client_under_test t(settings_for(server.url()));
    REQUIRE(t.becomes_up());
    redis_script const script("return KEYS[1] .. '=' .. ARGV[1]");
    CHECK(script.sha1.size() == 40);
    CHECK(server.command({"SCRIPT", "EXISTS", script.sha1}).elements.at(0).integer == 0);

    auto first = call_eval(*t.client, script, {"k"}, {"v"});
    CHECK_FALSE(first.ec);
    CHECK(first.reply.str == "k=v");
    // Loaded by the EVAL fallback under the SHA1 the client computed.
    CHECK(server.command({"SCRIPT", "EXISTS", script.sha1}).elements.at(0).integer == 1);
    CHECK(call_eval(*t.client, script, {"a"}, {"b"}).reply.str == "a=b");

    server.command({"SCRIPT", "FLUSH"});
    auto after_flush = call_eval(*t.client, script, {"x"}, {"y"});
    CHECK_FALSE(after_flush.ec);
    CHECK(after_flush.reply.str == "x=y");

    // A script's own error stays an error reply.
    auto failing = call_eval(*t.client, redis_script("return redis.error_reply('BOOM no')"), {}, {});
    CHECK_FALSE(failing.ec);
    CHECK(failing.reply.is_error());
    CHECK(failing.reply.str.find("BOOM") != std::string::npos);
}

TEST_CASE("redis client: scripts run in order with commands, also right after Redis restarts")
{
    redis_server server;
    client_under_test t(settings_for(server.url()));
    REQUIRE(t.becomes_up());
    redis_script const push("return redis.call('RPUSH', KEYS[1], ARGV[1])");

    // A script, a command and the script again, pipelined: they run as sent.
    auto run_three = [&] {
        auto done = std::make_shared<std::promise<void>>();
        auto finished = done->get_future();
        t.client->eval(push, {"order"}, {"a"}, [](boost::system::error_code, redis_reply) {});
        t.client->command({"RPUSH", "order", "b"}, [](boost::system::error_code, redis_reply) {});
        t.client->eval(push, {"order"}, {"c"}, [done](boost::system::error_code, redis_reply) { done->set_value(); });
        REQUIRE(finished.wait_for(10s) == std::future_status::ready);
        auto list = server.command({"LRANGE", "order", "0", "-1"});
        std::string got;
        for (auto const& e : list.elements)
            got += e.str;
        return got;
    };
    CHECK(run_three() == "abc");

    server.kill();
    server.start();
    REQUIRE(t.becomes_up(2));
    // Loaded again before the client said it is up: no EVALSHA meets NOSCRIPT and runs late.
    CHECK(server.command({"SCRIPT", "EXISTS", push.sha1}).elements.at(0).integer == 1);
    CHECK(run_three() == "abc");
}

TEST_CASE("redis client: every state handler is called")
{
    auto s = settings_for(shared_redis().url());
    auto metrics = std::make_shared<relay::telemetry::registry>();
    relay::store::test::captured_log log;
    auto client = std::make_shared<redis_client>(
        s, std::shared_ptr<relay::telemetry::logger>(std::shared_ptr<void>{}, log.get()), metrics);
    std::atomic<int> first{0};
    std::atomic<int> second{0};
    client->on_state([&](bool up) { first += up ? 1 : 0; });
    client->on_state([&](bool up) { second += up ? 1 : 0; });
    client->start();
    CHECK(eventually([&] { return first == 1 && second == 1; }));
    client->stop();
}

TEST_CASE("redis client: messages reach the handler of the longest prefix, probes reach none")
{
    auto const base = unique_name("test:chan") + ":";
    auto s = settings_for(shared_redis().url());
    client_under_test t(s, {base, base + "device:", "relay:node:"});
    t.client->subscribe(base + "device:r1");
    t.client->subscribe(base + "other");
    t.client->subscribe(base + "device:r1"); // wanted twice, subscribed once
    REQUIRE(t.becomes_up());
    CHECK(t.client->own_channel() == "relay:node:" + s.node_id);

    // A probe has come back before the own channel's barrier message is published.
    auto const& received = t.metrics->get_counter("relay_redis_messages_received_total", "");
    REQUIRE(eventually([&] { return received.value() >= 1; }));
    // Subscriptions made after start are confirmed asynchronously: publish until both receive.
    REQUIRE(eventually([&] {
        auto& r = shared_redis();
        return r.command({"PUBSUB", "NUMSUB", base + "device:r1"}).elements.at(1).integer == 1 &&
               r.command({"PUBSUB", "NUMSUB", base + "other"}).elements.at(1).integer == 1;
    }));
    CHECK(shared_redis().command({"PUBLISH", base + "device:r1", "e1"}).integer == 1);
    CHECK(shared_redis().command({"PUBLISH", base + "other", std::string("o\0", 2)}).integer == 1);
    CHECK(shared_redis().command({"PUBLISH", t.client->own_channel(), "to the node"}).integer == 1);
    REQUIRE(eventually([&] { return t.seen.message_count() >= 3; }));
    {
        std::lock_guard lock(t.seen.mutex);
        CHECK(t.seen.messages.size() == 3);
        CHECK(t.seen.messages.at(0) == std::pair{base + "device:", base + "device:r1=e1"});
        CHECK(t.seen.messages.at(1) == std::pair{base, base + "other=" + std::string("o\0", 2)});
        CHECK(t.seen.messages.at(2) == std::pair{std::string("relay:node:"), t.client->own_channel() + "=to the node"});
    }
    CHECK(t.metrics->get_gauge("relay_redis_subscriptions", "").value() == 3);

    // Unsubscribed: Redis delivers to nobody; the own channel cannot be given up.
    t.client->unsubscribe(base + "other");
    t.client->unsubscribe(t.client->own_channel());
    REQUIRE(eventually([&] {
        return shared_redis().command({"PUBSUB", "NUMSUB", base + "other"}).elements.at(1).integer == 0;
    }));
    CHECK(shared_redis().command({"PUBSUB", "NUMSUB", t.client->own_channel()}).elements.at(1).integer == 1);
}

TEST_CASE("redis client: a channel given up and wanted again at once stays subscribed")
{
    auto const channel = unique_name("test:again");
    client_under_test t(settings_for(shared_redis().url()), {"test:"});
    REQUIRE(t.becomes_up());
    // SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE pipelined: hiredis must keep the channel's callback when
    // the UNSUBSCRIBE's confirmation comes after the second SUBSCRIBE went out.
    for (int i = 0; i < 20; ++i) {
        t.client->subscribe(channel);
        t.client->unsubscribe(channel);
    }
    t.client->subscribe(channel);
    REQUIRE(eventually([&] {
        return shared_redis().command({"PUBSUB", "NUMSUB", channel}).elements.at(1).integer == 1 &&
               t.metrics->get_gauge("relay_redis_subscriptions", "").value() == 2;
    }));
    CHECK(shared_redis().command({"PUBLISH", channel, "still here"}).integer == 1);
    REQUIRE(eventually([&] { return t.seen.message_count() == 1; }));
}

TEST_CASE("redis client: AUTH with the URL's password; a wrong one keeps it down and says why")
{
    relay::test::redis::server_options options;
    options.password = "right-horse-battery";
    redis_server server(options);
    {
        client_under_test t(settings_for(server.url()));
        REQUIRE(t.becomes_up());
        CHECK(call(*t.client, {"SET", "k", "v"}).reply.str == "OK");
    }
    auto s = settings_for(server.url());
    s.where.password = "wrong-staple-9";
    client_under_test t(s);
    REQUIRE(eventually([&] { return t.client->health().find("AUTH failed") != std::string::npos; }));
    CHECK_FALSE(t.client->up());
    auto const health = t.client->health();
    CHECK(health.find("WRONGPASS") != std::string::npos);
    CHECK(health.find("wrong-staple-9") == std::string::npos);
    CHECK(call(*t.client, {"PING"}).ec == relay::errc::unavailable);
    CHECK(t.seen.ups() == 0);

    auto no_password = settings_for(server.url());
    no_password.where.password.clear();
    client_under_test u(no_password);
    REQUIRE(eventually([&] { return u.client->health().find("NOAUTH") != std::string::npos; }));
    CHECK(t.log.text().find("wrong-staple-9") == std::string::npos);
    CHECK(t.log.text().find("right-horse-battery") == std::string::npos);
}

TEST_CASE("redis client: SELECT the URL's database on every connection")
{
    redis_server server;
    client_under_test t(settings_for(server.url(5)));
    REQUIRE(t.becomes_up());
    CHECK(call(*t.client, {"SET", "in-five", "yes"}).reply.str == "OK");
    CHECK(server.command({"GET", "in-five"}, 5).str == "yes");
    CHECK(server.command({"EXISTS", "in-five"}, 0).integer == 0);
    // After a reconnect too.
    server.command({"CLIENT", "KILL", "TYPE", "normal"});
    REQUIRE(t.becomes_up(2));
    CHECK(call(*t.client, {"GET", "in-five"}).reply.str == "yes");
}

TEST_CASE("redis client: Redis killed fails commands at once; restarted, all comes back")
{
    redis_server server;
    auto s = settings_for(server.url());
    s.command_timeout = 60s; // a failure within the test's wait is not a command timeout
    auto const channel = unique_name("test:after") ;
    client_under_test t(s, {"test:"});
    t.client->subscribe(channel);
    REQUIRE(t.becomes_up());

    server.kill();
    REQUIRE(eventually([&] { return t.seen.downs() == 1; }));
    CHECK_FALSE(t.client->up());
    CHECK(t.client->health().find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
    auto const start = std::chrono::steady_clock::now();
    auto a = call(*t.client, {"PING"});
    CHECK(a.ec == relay::errc::unavailable);
    MESSAGE("unavailable answered after "
            << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() << " ms");
    CHECK(t.log.text().find("redis_disconnected") != std::string::npos);

    server.start();
    REQUIRE(t.becomes_up(2));
    CHECK(t.seen.downs() == 1); // once per outage
    CHECK(t.client->health().empty());
    CHECK(call(*t.client, {"PING"}).reply.str == "PONG");
    // The channel was subscribed again before the client said it is up.
    CHECK(server.command({"PUBLISH", channel, "after"}).integer == 1);
    REQUIRE(eventually([&] { return t.seen.message_count() == 1; }));
    std::lock_guard lock(t.seen.mutex);
    CHECK(t.seen.messages.at(0).second == channel + "=after");
}

TEST_CASE("redis client: a wedged Redis (SIGSTOP) fails commands at the timeout, the probe notices")
{
    redis_server server;
    auto s = settings_for(server.url());
    s.command_timeout = 1500ms;
    s.probe_timeout = 300ms;
    s.connect_timeout = 500ms;
    client_under_test t(s);
    REQUIRE(t.becomes_up());

    auto const logged_before = t.log.text().size();
    auto const ups_before = t.seen.ups();
    server.pause();
    auto a = call(*t.client, {"PING"});
    CHECK(a.ec == relay::errc::unavailable);
    REQUIRE(eventually([&] { return !t.client->up() && t.seen.downs() >= 1; }));
    REQUIRE(eventually([&] { return t.log.text().find("redis_probe_lost", logged_before) != std::string::npos; }));
    CHECK(t.metrics->get_counter("relay_redis_commands_failed_total", "", {{"reason", "timeout"}}).value() >= 1);
    CHECK(call(*t.client, {"PING"}).ec == relay::errc::unavailable);

    server.resume();
    REQUIRE(t.becomes_up(ups_before + 1));
    CHECK(call(*t.client, {"PING"}).reply.str == "PONG");
}

TEST_CASE("redis client: stop() answers every command in flight")
{
    redis_server server;
    auto s = settings_for(server.url());
    s.command_timeout = 60s;
    auto t = std::make_unique<client_under_test>(s);
    REQUIRE(t->becomes_up());
    server.pause();
    std::atomic<int> unavailable{0};
    std::atomic<int> answered{0};
    for (int i = 0; i < 100; ++i)
        t->client->command({"INCR", "n"}, [&](boost::system::error_code ec, redis_reply) {
            ++answered;
            if (ec == relay::errc::unavailable)
                ++unavailable;
        });
    // Another thread keeps sending while stop() runs: each of its commands is answered too.
    std::atomic<bool> stopped{false};
    std::atomic<int> sent_meanwhile{0};
    std::atomic<int> answered_meanwhile{0};
    std::thread sender([&] {
        while (!stopped) {
            ++sent_meanwhile;
            t->client->command({"PING"}, [&](boost::system::error_code, redis_reply) { ++answered_meanwhile; });
        }
    });
    REQUIRE(eventually([&] { return sent_meanwhile > 100; }));
    t->client->stop();
    stopped = true;
    sender.join();
    CHECK(answered == 100);
    CHECK(unavailable == 100);
    CHECK(answered_meanwhile == sent_meanwhile);
    CHECK_FALSE(t->client->up());
    CHECK(t->client->health() == "stopped");
    // After stop: answered at once, on the caller's thread.
    CHECK(call(*t->client, {"PING"}).ec == relay::errc::unavailable);
    t.reset();
    server.resume();
}

TEST_CASE("redis client: too many waiting commands fail at once")
{
    redis_server server;
    auto s = settings_for(server.url());
    s.command_timeout = 60s;
    s.max_pending_commands = 10;
    client_under_test t(s);
    REQUIRE(t.becomes_up());
    server.pause();
    std::atomic<int> unavailable{0};
    for (int i = 0; i < 30; ++i)
        t.client->command({"INCR", "n"}, [&](boost::system::error_code ec, redis_reply) {
            if (ec == relay::errc::unavailable)
                ++unavailable;
        });
    // The 20 beyond the limit (the probe may hold one more place).
    REQUIRE(eventually([&] { return unavailable >= 19; }));
    server.resume();
    REQUIRE(eventually([&] { return server.command({"GET", "n"}).str != ""; }));
    auto const done = std::stoi(server.command({"GET", "n"}).str);
    CHECK(done <= 11);
    CHECK(done >= 10);
}

TEST_CASE("redis client: no thread or descriptor leaks across 100 reconnects")
{
    redis_server server;
    client_under_test t(settings_for(server.url()));
    REQUIRE(t.becomes_up());
    auto const fds = open_fds();
    auto const tasks = threads();
    auto const& command_reconnects =
        t.metrics->get_counter("relay_redis_reconnects_total", "", {{"connection", "command"}});
    auto const& subscriber_reconnects =
        t.metrics->get_counter("relay_redis_reconnects_total", "", {{"connection", "subscriber"}});
    for (int i = 0; i < 100; ++i) {
        auto const before_command = command_reconnects.value();
        auto const before_subscriber = subscriber_reconnects.value();
        // Both of the client's connections (the harness's own is skipped).
        auto killed = server.command({"CLIENT", "KILL", "LADDR", "127.0.0.1:" + std::to_string(server.port())});
        REQUIRE(killed.integer == 2);
        REQUIRE(eventually([&] {
            return command_reconnects.value() > before_command && subscriber_reconnects.value() > before_subscriber &&
                   t.client->up();
        }));
    }
    CHECK(open_fds() == fds);
    CHECK(threads() == tasks);
    CHECK(t.seen.ups() >= 101);
}
