// Several threads on one store, and two stores on one file (as two processes would be).
#include "store/store_fixture.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

namespace {

constexpr int thread_count = 8;
constexpr int per_thread = 25;

// doctest's assertions are not thread-safe: threads count outcomes, the test checks them after.
struct tally {
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    void record(bool success) { (success ? ok : failed).fetch_add(1); }
};

void run_threads(int n, auto const& body)
{
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t)
        threads.emplace_back([&body, t] { body(t); });
    for (auto& th : threads)
        th.join();
}

} // namespace

RELAY_STORE_TEST("concurrency: many threads writing and reading one store")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto owner = make_user(*s, "owner@example.com");
    make_device(*s, "shared", owner.id);

    tally results;
    run_threads(thread_count, [&](int t) {
        for (int i = 0; i < per_thread; ++i) {
            auto tag = std::to_string(t) + "-" + std::to_string(i);
            auto u = s->create_user("user" + tag + "@example.com", "h", 1000);
            results.record(bool(u));
            if (!u)
                continue;
            device d;
            d.device_id = "dev-" + tag;
            d.name = "robot " + tag;
            d.secret_sealed = "s";
            results.record(bool(s->create_device(d, u->id)));
            results.record(bool(s->add_member("shared", u->id, i % 2 ? role::viewer : role::operator_)));
            results.record(bool(s->insert_session(webrtc_session{"sess-" + tag, "shared", u->id, i, {}, {}, {}, {}, {}})));
            results.record(bool(s->end_session("sess-" + tag, i + 1, "done")));
            auto mine = s->list_devices_for_user(u->id);
            results.record(mine && mine->size() == 2);
            results.record(bool(s->insert_refresh_token(refresh_token{"tok-" + tag, "fam-" + tag, u->id, 1000, 9000})));
            auto c = s->consume_refresh_token("tok-" + tag, 2000);
            results.record(c && c->outcome == refresh_outcome::rotated);
        }
    });

    CHECK(results.failed == 0);
    CHECK(results.ok == thread_count * per_thread * 8);
    CHECK(s->list_users()->size() == 1 + thread_count * per_thread);
    CHECK(s->list_devices()->size() == 1 + thread_count * per_thread);
    CHECK(s->users_with_access("shared")->size() == 1 + thread_count * per_thread);
    CHECK(s->list_sessions("shared", 10000)->size() == thread_count * per_thread);
    CHECK(s->end_open_sessions(5000, "x").value() == 0);
    CHECK(log.text().find(backend::failure_event) == std::string::npos);
}

RELAY_STORE_TEST("concurrency: one refresh token presented by many threads at once rotates once")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto alice = make_user(*s, "alice@example.com");

    for (int round = 0; round < 20; ++round) {
        auto hash = "t" + std::to_string(round);
        REQUIRE(s->insert_refresh_token(refresh_token{hash, "f" + hash, alice.id, 1000, 9000}));
        std::atomic<int> rotated{0}, reused{0}, refused{0}, other{0};
        run_threads(thread_count, [&](int) {
            auto c = s->consume_refresh_token(hash, 2000);
            if (c && c->outcome == refresh_outcome::rotated)
                ++rotated;
            else if (c && c->outcome == refresh_outcome::reuse_detected)
                ++reused;
            else if (!c && c.error() == errc::unauthorized)
                ++refused;
            else
                ++other;
        });
        CAPTURE(round);
        // the first wins, the second finds it used and revokes the family, the rest find it revoked
        CHECK(rotated == 1);
        CHECK(reused == 1);
        CHECK(refused == thread_count - 2);
        CHECK(other == 0);
    }
}

RELAY_STORE_TEST("concurrency: one email registered by many threads at once exists once")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    std::atomic<int> created{0}, taken{0};
    run_threads(thread_count, [&](int) {
        auto u = s->create_user("same@example.com", "h", 1000);
        if (u)
            ++created;
        else if (u.error() == errc::email_taken)
            ++taken;
    });
    CHECK(created == 1);
    CHECK(taken == thread_count - 1);
    CHECK(s->list_users()->size() == 1);
}

// Two relays on one PostgreSQL database, or relayd and `relayd user add` on one SQLite file.
TEST_CASE_TEMPLATE("concurrency: two stores on one database wait for each other instead of failing", backend,
                   sqlite_on_file, postgresql)
{
    temp_dir dir;
    captured_log log;
    auto const location = backend::location(dir);
    auto first = open_or_fail(location, log.get());
    auto second = open_or_fail(location, log.get());
    auto owner = make_user(*first, "owner@example.com");
    make_device(*first, "d1", owner.id);

    // Enough writes from both sides that they collide on the write lock (SQLite) or on the rows
    // (PostgreSQL) many times.
    constexpr int rounds = 200;
    tally results;
    run_threads(4, [&](int t) {
        store& s = t % 2 ? *first : *second;
        for (int i = 0; i < rounds; ++i) {
            auto tag = std::to_string(t) + "-" + std::to_string(i);
            auto u = s.create_user("u" + tag + "@example.com", "h", 1000);
            results.record(bool(u));
            if (u)
                results.record(bool(s.add_member("d1", u->id, role::viewer)));
            results.record(bool(s.list_members("d1")));
        }
    });
    CHECK(results.failed == 0);
    // each sees what the other wrote
    CHECK(first->list_users()->size() == 1 + 4 * rounds);
    CHECK(second->users_with_access("d1")->size() == 1 + 4 * rounds);
    CHECK(log.text().find(backend::failure_event) == std::string::npos);
}
