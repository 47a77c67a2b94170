#include <relay/auth/throttle.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace relay::auth;
using namespace std::chrono_literals;
using clock_type = failure_throttle::clock;

namespace {
clock_type::time_point const t0{std::chrono::hours(1000)};

throttle_policy small_policy()
{
    throttle_policy p;
    p.max_failures = 3;
    p.window = 10min;
    p.lockout = 60s;
    p.max_lockout = 300s;
    p.forget_after = 1h;
    p.max_keys = 1000;
    return p;
}

void fail(failure_throttle& t, std::string_view key, clock_type::time_point now, int times)
{
    for (int i = 0; i < times; ++i)
        t.record_failure(key, now);
}
} // namespace

TEST_CASE("max_failures within the window lock the key, with a rounded-up Retry-After")
{
    failure_throttle t(small_policy());
    fail(t, "email:a@b.co", t0, 2);
    CHECK(!t.check("email:a@b.co", t0));
    t.record_failure("email:a@b.co", t0 + 5s);
    CHECK(t.check("email:a@b.co", t0 + 5s) == 60s);
    CHECK(t.check("email:a@b.co", t0 + 5s + 500ms) == 60s);
    CHECK(t.check("email:a@b.co", t0 + 64s + 1ms) == 1s);
    CHECK(!t.check("email:a@b.co", t0 + 65s));
    // Other keys are unaffected.
    CHECK(!t.check("email:c@d.co", t0 + 5s));
    CHECK(!t.check("addr:1.2.3.4", t0 + 5s));
}

TEST_CASE("failures older than the window do not add up")
{
    failure_throttle t(small_policy());
    fail(t, "k", t0, 2);
    fail(t, "k", t0 + 10min, 2); // a new window started
    CHECK(!t.check("k", t0 + 10min));
    t.record_failure("k", t0 + 11min);
    CHECK(t.check("k", t0 + 11min) == 60s);
}

TEST_CASE("repeated lockouts double, capped at max_lockout")
{
    failure_throttle t(small_policy());
    auto now = t0;
    for (auto expected : {60s, 120s, 240s, 300s, 300s}) {
        fail(t, "k", now, 3);
        CAPTURE(expected.count());
        CHECK(t.check("k", now) == expected);
        now += expected;
        CHECK(!t.check("k", now));
    }
}

TEST_CASE("failures during a lockout neither extend it nor count towards the next")
{
    failure_throttle t(small_policy());
    fail(t, "k", t0, 3);
    fail(t, "k", t0 + 30s, 10);
    CHECK(t.check("k", t0 + 30s) == 30s);
    CHECK(!t.check("k", t0 + 60s));
    fail(t, "k", t0 + 60s, 2);
    CHECK(!t.check("k", t0 + 60s));
}

TEST_CASE("success forgets a key, escalation included")
{
    failure_throttle t(small_policy());
    fail(t, "k", t0, 3);
    CHECK(t.check("k", t0));
    t.record_success("k");
    CHECK(!t.check("k", t0));
    CHECK(t.size() == 0);
    fail(t, "k", t0, 3);
    CHECK(t.check("k", t0) == 60s); // back to the first lockout length
    t.record_success("unknown");    // harmless
}

TEST_CASE("checks and successes never count: many users behind one address are not throttled")
{
    failure_throttle t(small_policy());
    for (int i = 0; i < 10000; ++i) {
        auto const now = t0 + std::chrono::milliseconds(i);
        REQUIRE(!t.check("addr:203.0.113.7", now));
        REQUIRE(!t.check("email:user" + std::to_string(i) + "@example.com", now));
        t.record_success("email:user" + std::to_string(i) + "@example.com");
    }
    CHECK(t.size() == 0);
}

TEST_CASE("quiet keys are forgotten after forget_after, and with them the escalation")
{
    failure_throttle t(small_policy());
    fail(t, "k", t0, 3);
    fail(t, "k", t0 + 60s, 3);
    CHECK(t.check("k", t0 + 60s) == 120s);
    fail(t, "other", t0 + 30min, 1);
    CHECK(t.size() == 2);
    CHECK(!t.check("k", t0 + 60s + 1h));
    CHECK(t.size() == 1); // "k" is gone, "other" is still fresh
    fail(t, "k", t0 + 2h, 3);
    CHECK(t.check("k", t0 + 2h) == 60s); // back to the first lockout length
    CHECK(t.size() == 1);                // "other" went quiet too
    CHECK(!t.check("k", t0 + 3h));
    CHECK(t.size() == 0);
}

TEST_CASE("memory is bounded: the key with the oldest failure is evicted first")
{
    auto policy = small_policy();
    policy.max_keys = 100;
    failure_throttle t(policy);
    fail(t, "victim", t0, 2);
    for (int i = 0; i < 1000; ++i)
        t.record_failure("addr:" + std::to_string(i), t0 + std::chrono::milliseconds(i + 1));
    CHECK(t.size() == 100);
    // Recent keys kept their counts: one more failure locks the most recent one.
    fail(t, "addr:999", t0 + 2s, 2);
    CHECK(t.check("addr:999", t0 + 2s));
    // The oldest was evicted, so its two failures are forgotten.
    fail(t, "victim", t0 + 2s, 2);
    CHECK(!t.check("victim", t0 + 2s));
    CHECK(t.size() == 100);
}

TEST_CASE("policies that cannot work are refused")
{
    auto p = small_policy();
    p.max_failures = 0;
    CHECK_THROWS_AS(failure_throttle{p}, std::invalid_argument);
    p = small_policy();
    p.max_keys = 0;
    CHECK_THROWS_AS(failure_throttle{p}, std::invalid_argument);
    p = small_policy();
    p.lockout = 0s;
    CHECK_THROWS_AS(failure_throttle{p}, std::invalid_argument);
    p = small_policy();
    p.max_lockout = 30s;
    CHECK_THROWS_AS(failure_throttle{p}, std::invalid_argument);
    p = small_policy();
    p.forget_after = 5min;
    CHECK_THROWS_AS(failure_throttle{p}, std::invalid_argument);
    CHECK_NOTHROW(failure_throttle{});
}

TEST_CASE("concurrent use from several threads stays consistent")
{
    auto policy = small_policy();
    policy.max_keys = 100;
    failure_throttle t(policy);
    std::atomic<int> locked{0};
    std::vector<std::thread> threads;
    for (int n = 0; n < 4; ++n)
        threads.emplace_back([&, n] {
            for (int i = 0; i < 5000; ++i) {
                // 40 shared keys that fail and get locked, some successes, and a stream of
                // one-off keys that forces evictions.
                auto const key = "k" + std::to_string((i * 7 + n) % 40);
                auto const now = t0 + std::chrono::milliseconds(i);
                if (t.check(key, now))
                    ++locked;
                if (i % 5 == 0)
                    t.record_success(key);
                else
                    t.record_failure(key, now);
                if (i % 10 == 0)
                    t.record_failure("cold-" + std::to_string(n) + "-" + std::to_string(i), now);
            }
        });
    for (auto& th : threads)
        th.join();
    CHECK(t.size() <= 100);
    CHECK(locked.load() > 0);
}

// ---- failure_delay: slows guessing down, never locks anyone out (device authentication)

namespace {
delay_policy small_delay_policy()
{
    delay_policy p;
    p.first_delay = 100ms;
    p.max_delay = 3s;
    p.window = 10min;
    p.max_keys = 1000;
    return p;
}
} // namespace

TEST_CASE("failure delays double with recent failures and stop at max_delay")
{
    failure_delay d(small_delay_policy());
    std::vector<std::chrono::milliseconds> seen;
    for (int i = 0; i < 9; ++i)
        seen.push_back(d.record_failure("device:wimz-001", t0 + std::chrono::seconds(i)));
    CHECK(seen == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1600ms, 3s, 3s, 3s, 3s});
    // Any number of failures stays at the cap: a stranger can slow guesses, never lock anyone out.
    for (int i = 0; i < 1000; ++i)
        REQUIRE(d.record_failure("device:wimz-001", t0 + 10s) == 3s);
    CHECK(d.delay_after(0) == 0ms);
    CHECK(d.delay_after(std::numeric_limits<std::size_t>::max()) == 3s);
}

TEST_CASE("failure delays are per key, reset by success, and forgotten after the window")
{
    failure_delay d(small_delay_policy());
    for (int i = 0; i < 5; ++i)
        d.record_failure("device:a", t0);
    CHECK(d.record_failure("device:b", t0) == 100ms); // another key starts from the first delay
    d.record_success("device:a");
    CHECK(d.record_failure("device:a", t0) == 100ms);
    for (int i = 0; i < 5; ++i)
        d.record_failure("addr:203.0.113.7", t0);
    CHECK(d.record_failure("addr:203.0.113.7", t0 + 10min) == 100ms); // a new window
}

TEST_CASE("delay policies that cannot work are refused")
{
    std::vector<std::function<void(delay_policy&)>> const breakages{
        [](delay_policy& p) { p.first_delay = 0ms; },
        [](delay_policy& p) { p.max_delay = p.first_delay / 2; },
        [](delay_policy& p) { p.window = 0s; },
        [](delay_policy& p) { p.max_keys = 0; },
    };
    for (std::size_t i = 0; i < breakages.size(); ++i) {
        CAPTURE(i);
        auto policy = small_delay_policy();
        breakages[i](policy);
        CHECK_THROWS_AS(failure_delay{policy}, std::invalid_argument);
    }
    CHECK_NOTHROW(failure_delay{});
}
