#include <relay/routing/hub.hpp>
#include <relay/routing/in_process_broker.hpp>
#include <relay/routing/token_bucket.hpp>
#include <relay/routing/webrtc_registry.hpp>
#include <relay/telemetry/metrics.hpp>

#include <doctest/doctest.h>

#include <mutex>
#include <thread>

using namespace relay::routing;

namespace {

struct recording_app : app_link {
    std::mutex m;
    std::vector<std::pair<std::string, channel_message>> got;
    std::vector<std::shared_ptr<std::string const>> sent;
    std::vector<std::pair<std::string, std::optional<relay::protocol::role>>> access;
    std::optional<relay::protocol::close_code> closed;
    std::vector<std::string> logins_ended;

    void deliver(std::string const& channel, channel_message const& msg) override
    {
        std::lock_guard l(m);
        got.emplace_back(channel, msg);
    }
    void send(std::shared_ptr<std::string const> f) override { sent.push_back(std::move(f)); }
    void access_changed(std::string const& d, std::optional<relay::protocol::role> r) override { access.emplace_back(d, r); }
    void login_ended(std::string const& login_id) override { logins_ended.push_back(login_id); }
    void close(relay::protocol::close_code c) override { closed = c; }
};

struct recording_robot : robot_link {
    std::vector<std::shared_ptr<std::string const>> sent;
    std::optional<relay::protocol::close_code> closed;
    void send(std::shared_ptr<std::string const> f) override { sent.push_back(std::move(f)); }
    void close(relay::protocol::close_code c) override { closed = c; }
};

auto frame(std::string s)
{
    return std::make_shared<std::string const>(std::move(s));
}

} // namespace

TEST_CASE("token bucket: burst, then the rate")
{
    auto t0 = token_bucket::clock::now();
    token_bucket b(10, 3, t0);
    CHECK(b.try_take(t0));
    CHECK(b.try_take(t0));
    CHECK(b.try_take(t0));
    CHECK_FALSE(b.try_take(t0));
    CHECK(b.try_take(t0 + std::chrono::milliseconds(100)));
    CHECK_FALSE(b.try_take(t0 + std::chrono::milliseconds(100)));
    // never banks more than the burst
    auto later = t0 + std::chrono::seconds(60);
    for (int i = 0; i < 3; ++i) CHECK(b.try_take(later));
    CHECK_FALSE(b.try_take(later));
}

TEST_CASE("broker: one frame built per event, delivered in seq order to every subscriber")
{
    in_process_broker broker({100, std::chrono::seconds(600)});
    auto a = std::make_shared<recording_app>();
    auto b = std::make_shared<recording_app>();
    broker.subscribe("d1", a);
    broker.subscribe("d1", b);
    broker.subscribe("d1", a); // twice is once
    CHECK(broker.subscriber_count("d1") == 2);
    int builds = 0;
    std::uint64_t first = 0, second = 0;
    first = broker.publish("d1", [&](std::uint64_t seq) { ++builds; return frame("e" + std::to_string(seq)); });
    second = broker.publish("d1", [&](std::uint64_t seq) { ++builds; return frame("e" + std::to_string(seq)); });
    CHECK(builds == 2);
    CHECK(second == first + 1);
    CHECK(first == broker.first_seq());
    REQUIRE(a->got.size() == 2);
    CHECK(a->got[0].second.frame == b->got[0].second.frame); // the same bytes, shared
    CHECK(a->got[1].second.seq == second);
    broker.unsubscribe("d1", a.get());
    broker.publish("d1", [&](std::uint64_t) { return frame("x"); });
    CHECK(a->got.size() == 2);
    CHECK(b->got.size() == 3);
    // a subscriber that went away is simply skipped
    b.reset();
    broker.publish("d1", [&](std::uint64_t) { return frame("y"); });
    CHECK(broker.subscriber_count("d1") == 0);
}

TEST_CASE("broker history: replay after a seq, completeness reported honestly")
{
    in_process_broker broker({3, std::chrono::seconds(600)});
    auto base = broker.first_seq();
    for (int i = 0; i < 5; ++i)
        broker.publish("d", [](std::uint64_t s) { return frame(std::to_string(s)); });
    // kept: base+2, base+3, base+4
    auto h = broker.history("d", base + 2);
    CHECK(h.complete);
    CHECK(h.last_seq == base + 4);
    REQUIRE(h.messages.size() == 2);
    CHECK(h.messages[0].seq == base + 3);

    auto lost = broker.history("d", base);
    CHECK_FALSE(lost.complete); // base+1 fell out of the buffer
    CHECK(lost.messages.size() == 3);

    auto up_to_date = broker.history("d", base + 4);
    CHECK(up_to_date.complete);
    CHECK(up_to_date.messages.empty());

    // a seq from before this relay started: whatever happened in between is unknown
    auto old = broker.history("d", 42);
    CHECK_FALSE(old.complete);
    auto unknown_channel_old = broker.history("other", 42);
    CHECK_FALSE(unknown_channel_old.complete);
    auto fresh = broker.history("other", 0);
    CHECK(fresh.complete);
    CHECK(fresh.messages.empty());

    // presence is delivered but never kept
    auto app = std::make_shared<recording_app>();
    broker.subscribe("d", app);
    broker.publish_transient("d", frame("presence"));
    CHECK(app->got.size() == 1);
    CHECK(app->got[0].second.seq == 0);
    CHECK(broker.history("d", base + 4).messages.empty());
}

TEST_CASE("broker history: age limit")
{
    in_process_broker broker({100, std::chrono::seconds(0)});
    auto s = broker.publish("d", [](std::uint64_t) { return frame("x"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto h = broker.history("d", s - 1);
    CHECK(h.messages.empty());
    CHECK_FALSE(h.complete);
}

namespace {
// A frame that is `n` bytes long, so the history's byte counts are predictable.
auto sized(std::size_t n)
{
    return [n](std::uint64_t) { return frame(std::string(n, 'x')); };
}
constexpr std::size_t kept_cost(std::size_t frame_bytes)
{
    return frame_bytes + in_process_broker::kept_event_overhead;
}
} // namespace

TEST_CASE("broker history: bounded in bytes per device, oldest first, never with a silent gap")
{
    replay_limits limits;
    limits.max_bytes_per_device = 3 * kept_cost(1000);
    in_process_broker broker(limits);
    auto base = broker.first_seq();
    for (int i = 0; i < 10; ++i)
        broker.publish("d", sized(1000));
    CHECK(broker.stats().bytes == 3 * kept_cost(1000));
    CHECK(broker.stats().events == 3);
    auto h = broker.history("d", 0);
    REQUIRE(h.messages.size() == 3);
    CHECK(h.messages.front().seq == base + 7);
    CHECK(h.messages.back().seq == base + 9);
    CHECK_FALSE(h.complete); // base .. base+6 are gone
    CHECK(broker.history("d", base + 6).complete);

    // An event too big for a device's bound is not kept, and neither is anything before it,
    // so a resume from before it hears complete:false rather than skipping it silently.
    auto big = broker.publish("d", sized(4000));
    auto after_big = broker.history("d", base + 9);
    CHECK(after_big.messages.empty());
    CHECK_FALSE(after_big.complete);
    CHECK(broker.stats().events == 0);
    broker.publish("d", sized(10));
    auto next = broker.history("d", big);
    CHECK(next.complete);
    REQUIRE(next.messages.size() == 1);
    CHECK(next.messages[0].seq == big + 1);
}

TEST_CASE("broker history: the total bound across devices evicts the globally oldest")
{
    replay_limits limits;
    limits.max_bytes_per_device = 4 * kept_cost(1000);
    limits.max_total_bytes = 6 * kept_cost(1000);
    relay::telemetry::registry metrics;
    in_process_broker broker(limits, &metrics);
    for (int i = 0; i < 3; ++i)
        broker.publish("quiet", sized(1000));
    for (int i = 0; i < 4; ++i) {
        broker.publish("busy", sized(1000));
        REQUIRE(broker.stats().bytes <= limits.max_total_bytes);
    }
    // 7 events for room for 6: the oldest of all, quiet's first, went.
    CHECK(broker.stats().events == 6);
    auto quiet = broker.history("quiet", 0);
    CHECK(quiet.messages.size() == 2);
    CHECK_FALSE(quiet.complete);
    CHECK(broker.history("busy", 0).messages.size() == 4);
    CHECK(broker.history("busy", 0).complete);
    // A busy device is held to its own bound: it cannot push out what the others keep.
    for (int i = 0; i < 20; ++i) {
        broker.publish("busy", sized(1000));
        REQUIRE(broker.stats().bytes <= limits.max_total_bytes);
    }
    CHECK(broker.history("busy", 0).messages.size() == 4);
    CHECK(broker.history("quiet", 0).messages.size() == 2);

    auto text = metrics.render();
    CAPTURE(text);
    CHECK(text.find("relay_history_events 6") != std::string::npos);
    CHECK(text.find("relay_history_bytes " + std::to_string(6 * kept_cost(1000))) != std::string::npos);
    CHECK(text.find(R"(relay_history_evicted_events_total{reason="total_bytes"} 1)") != std::string::npos);
    CHECK(text.find(R"(relay_history_evicted_events_total{reason="device_bytes"} 20)") != std::string::npos);
}

TEST_CASE("broker history: the count bound still holds per device")
{
    in_process_broker broker({2, std::chrono::seconds(600)});
    for (int i = 0; i < 5; ++i)
        broker.publish("d", sized(10));
    CHECK(broker.stats().events == 2);
    CHECK(broker.history("d", 0).messages.size() == 2);
}

TEST_CASE("broker sweep: expired events go without a publish; a silent channel keeps its numbering")
{
    relay::telemetry::registry metrics;
    in_process_broker broker({100, std::chrono::seconds(1)}, &metrics);
    auto app = std::make_shared<recording_app>();
    broker.subscribe("watched", app);
    auto first = broker.publish("silent", sized(100));
    auto second = broker.publish("silent", sized(100));
    broker.publish("watched", sized(100));
    CHECK(broker.stats().events == 3);
    CHECK(broker.stats().channels == 2);

    // Within the age limit nothing goes.
    broker.sweep(std::chrono::steady_clock::now());
    CHECK(broker.stats().events == 3);
    // Past it, everything does, though nothing was published since.
    broker.sweep(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    CHECK(broker.stats().events == 0);
    CHECK(broker.stats().bytes == 0);
    CHECK(metrics.render().find(R"(relay_history_evicted_events_total{reason="age"} 3)") != std::string::npos);
    CHECK(broker.stats().channels == 2);
    CHECK(broker.subscriber_count("watched") == 1);

    // An app that saw silent's first event only has missed the second: never "complete".
    CHECK_FALSE(broker.history("silent", first).complete);
    // One that saw both missed nothing.
    CHECK(broker.history("silent", second).complete);
    // Published on again, the channel goes on by one: no jump an app would read as a gap.
    auto again = broker.publish("silent", sized(100));
    CHECK(again == second + 1);
    auto h = broker.history("silent", second);
    CHECK(h.complete);
    CHECK(h.messages.size() == 1);
    CHECK(broker.history("silent", 0).complete == false); // the first two are gone
}

TEST_CASE("broker: a deleted device's channel, created again, never reuses a seq")
{
    in_process_broker broker({100, std::chrono::seconds(600)});
    broker.publish("d", sized(100));
    auto last = broker.publish("d", sized(100));
    broker.drop_channel("d");
    CHECK_FALSE(broker.history("d", last - 1).complete);
    auto again = broker.publish("d", sized(100));
    CHECK(again > last);
    CHECK_FALSE(broker.history("d", last - 1).complete);
}

TEST_CASE("broker history: pages, and completeness across pages")
{
    in_process_broker broker({100, std::chrono::seconds(600)});
    auto base = broker.first_seq();
    for (int i = 0; i < 10; ++i)
        broker.publish("d", sized(100));
    auto p1 = broker.history("d", 0, {3, SIZE_MAX});
    REQUIRE(p1.messages.size() == 3);
    CHECK(p1.messages[0].seq == base);
    CHECK(p1.last_seq == base + 9);
    auto p2 = broker.history("d", p1.messages.back().seq, {SIZE_MAX, 250});
    REQUIRE(p2.messages.size() == 2); // 100 + 100 fit in 250 bytes, a third does not
    CHECK(p2.messages[0].seq == base + 3);
    CHECK(p2.complete);
    // A page always holds one message, however small the byte budget.
    CHECK(broker.history("d", base + 4, {SIZE_MAX, 1}).messages.size() == 1);
    broker.drop_channel("d");
    CHECK(broker.stats().events == 0);
    CHECK(broker.stats().bytes == 0);
    CHECK_FALSE(broker.history("d", base + 4).complete);
}

TEST_CASE("broker: concurrent publishers on one channel never reorder a subscriber's seqs")
{
    in_process_broker broker({10, std::chrono::seconds(600)});
    auto app = std::make_shared<recording_app>();
    broker.subscribe("d", app);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i)
                broker.publish("d", [](std::uint64_t) { return frame("x"); });
        });
    for (auto& t : threads) t.join();
    REQUIRE(app->got.size() == 2000);
    for (std::size_t i = 1; i < app->got.size(); ++i)
        REQUIRE(app->got[i].second.seq == app->got[i - 1].second.seq + 1);
}

namespace {
auto numbered(std::uint64_t seq)
{
    return frame("e" + std::to_string(seq));
}
} // namespace

TEST_CASE("broker event ids: a re-sent id gets the kept seq and is neither delivered nor kept again")
{
    in_process_broker broker({100, std::chrono::seconds(600)});
    auto app = std::make_shared<recording_app>();
    broker.subscribe("d1", app);
    int builds = 0;
    auto build = [&](std::uint64_t seq) { ++builds; return numbered(seq); };

    auto first = broker.publish("d1", "e1", build);
    CHECK_FALSE(first.duplicate);
    CHECK(first.seq == broker.first_seq());
    auto other = broker.publish("d1", "e2", build);
    CHECK_FALSE(other.duplicate);
    CHECK(other.seq == first.seq + 1);

    auto again = broker.publish("d1", "e1", build);
    CHECK(again.duplicate);
    CHECK(again.seq == first.seq);
    CHECK(builds == 2); // no frame built for a duplicate
    CHECK(app->got.size() == 2);
    CHECK(broker.stats().events == 2);
    CHECK(broker.history("d1", 0).messages.size() == 2);
    CHECK(broker.history("d1", 0).last_seq == other.seq); // the numbering did not move

    // Ids belong to a channel: another device's e1 is its own event.
    CHECK_FALSE(broker.publish("d2", "e1", build).duplicate);
    // Events without an id are never duplicates of anything.
    auto plain1 = broker.publish("d1", std::nullopt, build);
    auto plain2 = broker.publish("d1", build);
    CHECK_FALSE(plain1.duplicate);
    CHECK(plain2 == plain1.seq + 1);
    CHECK(app->got.size() == 4);
}

TEST_CASE("broker event ids: an id is remembered exactly as long as its event is kept")
{
    SUBCASE("the count bound")
    {
        in_process_broker broker({2, std::chrono::seconds(600)});
        auto first = broker.publish("d", "a", numbered);
        broker.publish("d", "b", numbered);
        CHECK(broker.publish("d", "a", numbered).duplicate);
        broker.publish("d", "c", numbered); // pushes out a
        auto again = broker.publish("d", "a", numbered);
        CHECK_FALSE(again.duplicate);
        CHECK(again.seq > first.seq);
        CHECK(broker.publish("d", "c", numbered).duplicate);
    }
    SUBCASE("the age bound, through sweep")
    {
        in_process_broker broker({100, std::chrono::seconds(1)});
        auto first = broker.publish("d", "a", numbered);
        broker.sweep(std::chrono::steady_clock::now() + std::chrono::seconds(5));
        CHECK(broker.stats().events == 0);
        auto again = broker.publish("d", "a", numbered);
        CHECK_FALSE(again.duplicate);
        CHECK(again.seq == first.seq + 1);
    }
    SUBCASE("the total bound, evicted by another device's events")
    {
        replay_limits limits;
        limits.max_total_bytes = 2 * (in_process_broker::kept_event_overhead + 64);
        in_process_broker broker(limits);
        broker.publish("quiet", "a", numbered);
        broker.publish("busy", numbered);
        broker.publish("busy", numbered);
        CHECK(broker.history("quiet", 0).messages.empty());
        CHECK_FALSE(broker.publish("quiet", "a", numbered).duplicate);
    }
    SUBCASE("a dropped channel")
    {
        in_process_broker broker({100, std::chrono::seconds(600)});
        broker.publish("d", "a", numbered);
        broker.drop_channel("d");
        CHECK_FALSE(broker.publish("d", "a", numbered).duplicate);
    }
    SUBCASE("a history that keeps nothing recognises nothing")
    {
        in_process_broker broker({0, std::chrono::seconds(600)});
        auto first = broker.publish("d", "a", numbered);
        auto again = broker.publish("d", "a", numbered);
        CHECK_FALSE(again.duplicate);
        CHECK(again.seq == first.seq + 1);
    }
}

TEST_CASE("broker event ids: the id counts against the byte bounds and leaves with its event")
{
    in_process_broker broker({100, std::chrono::seconds(600)});
    std::string const id(40, 'i');
    broker.publish("d", id, [](std::uint64_t) { return frame(std::string(10, 'x')); });
    CHECK(broker.stats().bytes == 10 + in_process_broker::kept_event_overhead + id.size());
    broker.drop_channel("d");
    CHECK(broker.stats().bytes == 0);
}

TEST_CASE("hub: a newer robot connection replaces the older one")
{
    in_process_broker broker({10, std::chrono::seconds(60)});
    hub h(broker);
    auto r1 = std::make_shared<recording_robot>();
    auto r2 = std::make_shared<recording_robot>();
    CHECK(h.attach_robot("d", r1) == nullptr);
    CHECK(h.online("d"));
    CHECK(h.attach_robot("d", r2) == r1);
    CHECK_FALSE(h.detach_robot("d", r1.get())); // the old one leaving does not unplug the new one
    CHECK(h.robot("d") == r2);
    CHECK(h.detach_robot("d", r2.get()));
    CHECK_FALSE(h.online("d"));
}

TEST_CASE("hub: access changes reach every live connection of the user at once")
{
    in_process_broker broker({10, std::chrono::seconds(60)});
    hub h(broker);
    auto phone = std::make_shared<recording_app>();
    auto tablet = std::make_shared<recording_app>();
    auto stranger = std::make_shared<recording_app>();
    h.attach_app("u1", phone, {"d1"});
    h.attach_app("u1", tablet, {"d1"});
    h.attach_app("u2", stranger, {});
    CHECK(broker.subscriber_count("d1") == 2);

    h.set_access("u1", "d2", relay::protocol::role::viewer);
    CHECK(broker.subscriber_count("d2") == 2);
    REQUIRE(phone->access.size() == 1);
    CHECK(phone->access[0].second == relay::protocol::role::viewer);

    h.set_access("u1", "d1", std::nullopt);
    CHECK(broker.subscriber_count("d1") == 0);
    broker.publish("d1", [](std::uint64_t) { return frame("secret"); });
    CHECK(phone->got.empty());
    CHECK(stranger->got.empty());

    auto robot = std::make_shared<recording_robot>();
    h.attach_robot("d2", robot);
    h.remove_device("d2", {"u1"});
    CHECK(robot->closed == relay::protocol::close_code::access_revoked);
    CHECK_FALSE(h.online("d2"));
    CHECK(broker.subscriber_count("d2") == 0);

    h.detach_app("u1", phone.get(), {});
    CHECK(h.apps_of("u1").size() == 1);
}

TEST_CASE("hub: the end of a login reaches every live connection of that user only")
{
    in_process_broker broker({10, std::chrono::seconds(60)});
    hub h(broker);
    std::shared_ptr<recording_app> phone, tablet, stranger;
    for (auto* app : {&phone, &tablet, &stranger}) {
        *app = std::make_shared<recording_app>();
        h.attach_app(app == &stranger ? "u2" : "u1", *app, {});
    }

    // Which of them belongs to the login is theirs to decide: all of the user's are told.
    h.end_login("u1", "f_1");
    CHECK(phone->logins_ended == std::vector<std::string>{"f_1"});
    CHECK(tablet->logins_ended == std::vector<std::string>{"f_1"});
    CHECK(stranger->logins_ended.empty());
    // An empty login id would mean "every login": end_login never says that.
    h.end_login("u1", "");
    CHECK(phone->logins_ended.size() == 1);

    h.end_all_logins("u2");
    CHECK(stranger->logins_ended == std::vector<std::string>{""});
    CHECK(phone->logins_ended.size() == 1);
    h.end_all_logins("nobody");
}

TEST_CASE("hub: command results go back to the sender only")
{
    in_process_broker broker({10, std::chrono::seconds(60)});
    hub h(broker);
    auto a = std::make_shared<recording_app>();
    auto b = std::make_shared<recording_app>();
    CHECK(h.register_command("d", "c1", a));
    CHECK_FALSE(h.register_command("d", "c1", b)); // same id still pending
    CHECK(h.register_command("d", "c2", b));
    CHECK(h.take_command("d", "c1") == a);
    CHECK(h.take_command("d", "c1") == nullptr); // answered once
    CHECK(h.take_command("other", "c2") == nullptr);
    auto rest = h.take_all_commands("d");
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].first == "c2");
    CHECK(rest[0].second == b);
}

TEST_CASE("hub: tunnel requests are limited per device and per user, and released once")
{
    struct waiter : tunnel_waiter {
        int completed = 0, failed = 0;
        void complete(relay::protocol::robot_http_response) override { ++completed; }
        void fail(relay::errc, std::string) override { ++failed; }
    };
    in_process_broker broker({10, std::chrono::seconds(60)});
    hub h(broker);
    auto w = std::make_shared<waiter>();
    CHECK(h.register_tunnel("d", "t1", "u1", w, 2, 3));
    CHECK(h.register_tunnel("d", "t2", "u2", w, 2, 3));
    CHECK_FALSE(h.register_tunnel("d", "t3", "u3", w, 2, 3)); // device full
    CHECK(h.register_tunnel("e", "t4", "u1", w, 2, 2));
    CHECK_FALSE(h.register_tunnel("f", "t5", "u1", w, 2, 2)); // u1 has 2 in flight
    CHECK(h.take_tunnel("d", "t1") == w);
    CHECK(h.take_tunnel("d", "t1") == nullptr); // late or repeated answers go nowhere
    CHECK(h.register_tunnel("f", "t5", "u1", w, 2, 2));   // u1's slot came back
    auto all = h.take_all_tunnels("d");
    CHECK(all.size() == 1);
    CHECK(h.register_tunnel("d", "t6", "u2", w, 1, 1)); // u2's slot came back too
    h.remove_device("d", {});
    CHECK(w->failed == 1);
    CHECK(h.take_every_tunnel().size() == 2); // t4 on "e" and t5 on "f"
    CHECK(h.register_tunnel("g", "t7", "u1", w, 2, 2)); // every user's slots came back
}

TEST_CASE("webrtc registry: per-device limit, ends, deadlines")
{
    using namespace std::chrono_literals;
    webrtc_registry reg({2, 10s, 20s});
    auto app = std::make_shared<recording_app>();
    auto other_app = std::make_shared<recording_app>();
    auto robot = std::make_shared<recording_robot>();
    auto t0 = std::chrono::steady_clock::now();
    auto a = reg.create("d", "u1", app, robot, t0);
    auto b = reg.create("d", "u1", other_app, robot, t0);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a != *b);
    CHECK(a->size() == 34); // "s_" + 128 bits in hex
    CHECK_FALSE(reg.create("d", "u2", app, robot, t0)); // limit 2 per device
    CHECK(reg.create("e", "u2", app, robot, t0));       // another device is fine

    auto view = reg.find(*a);
    REQUIRE(view);
    CHECK(view->device_id == "d");
    CHECK(view->app.lock() == app);
    CHECK(view->phase == webrtc_phase::requested);

    // b gets its offer in time, a does not.
    reg.advance(*b, webrtc_phase::offered, t0 + 5s);
    auto expired = reg.expire(t0 + 11s);
    REQUIRE(expired.size() == 2); // a on "d", and the one on "e"
    for (auto const& [v, why] : expired)
        CHECK(why == "offer_timeout");
    CHECK(reg.find(*b));
    // ...but never answers.
    auto late = reg.expire(t0 + 26s);
    REQUIRE(late.size() == 1);
    CHECK(late[0].second == "answer_timeout");

    // Connected sessions never time out; app or device loss ends them.
    auto c = reg.create("d", "u1", app, robot, t0);
    auto d = reg.create("d", "u1", other_app, robot, t0);
    reg.advance(*c, webrtc_phase::connected, t0, relay::protocol::connection_type::relay);
    CHECK(reg.find(*c)->connection_type == relay::protocol::connection_type::relay);
    reg.advance(*c, webrtc_phase::offered, t0); // never backwards
    CHECK(reg.find(*c)->phase == webrtc_phase::connected);
    CHECK(reg.expire(t0 + 1h).size() == 1); // only d, still waiting for its offer
    CHECK(reg.remove_for_app(app.get()).size() == 1);
    CHECK(reg.active() == 0);
    auto e2 = reg.create("d", "u1", app, robot, t0);
    CHECK(reg.remove_for_device("d").size() == 1);
    CHECK_FALSE(reg.remove(*e2));
    auto other_robot = std::make_shared<recording_robot>();
    reg.create("d", "u1", app, robot, t0);
    reg.create("d", "u1", app, other_robot, t0); // e.g. sessions on a replacing connection
    CHECK(reg.remove_for_robot(robot.get()).size() == 1);
    CHECK(reg.active() == 1);
    CHECK(reg.remove_for_app(app.get(), "elsewhere").empty());
    CHECK(reg.remove_for_app(app.get(), "d").size() == 1);
}

TEST_CASE("webrtc registry: a renewal replaces a live session of its own app and device, outside the limit")
{
    using namespace std::chrono_literals;
    using relay::errc;
    webrtc_registry reg({1, 1h, 1h, 15s}); // deadlines out of the way
    auto app = std::make_shared<recording_app>();
    auto other_app = std::make_shared<recording_app>();
    auto robot = std::make_shared<recording_robot>();
    auto t0 = std::chrono::steady_clock::now();
    auto a = reg.create("d", "u1", app, robot, t0);
    REQUIRE(a);
    auto e = reg.create("e", "u1", app, robot, t0);
    REQUIRE(e);
    CHECK(reg.create("d", "u1", app, robot, t0).error() == make_error_code(errc::session_limit));
    // Only a live session of the same app link on the same device can be replaced.
    CHECK(reg.create("d", "u1", app, robot, t0, std::string("s_unknown")).error() ==
          make_error_code(errc::session_not_found));
    CHECK(reg.create("d", "u1", other_app, robot, t0, *a).error() == make_error_code(errc::session_not_found));
    CHECK(reg.create("d", "u1", app, robot, t0, *e).error() == make_error_code(errc::session_not_found));

    // At the limit (1), the renewal is accepted; a second replacement of the same one is not free.
    auto b = reg.create("d", "u1", app, robot, t0, *a);
    REQUIRE(b);
    CHECK(reg.find(*b)->replaces == *a);
    CHECK_FALSE(reg.find(*a)->replaces);
    CHECK(reg.create("d", "u1", app, robot, t0, *a).error() == make_error_code(errc::session_limit));
    // A chain: the renewal of the renewal is free too, while a plain request still is not.
    auto c = reg.create("d", "u1", app, robot, t0, *b);
    REQUIRE(c);
    CHECK(reg.create("d", "u1", app, robot, t0).error() == make_error_code(errc::session_limit));

    // The grace starts at the replacement's first connected report, not at its request.
    CHECK(reg.expire(t0 + 5s).empty());
    reg.advance(*b, webrtc_phase::connected, t0 + 6s);
    CHECK(reg.expire(t0 + 20s).empty());
    auto replaced = reg.expire(t0 + 21s);
    REQUIRE(replaced.size() == 1);
    CHECK(replaced[0].first.session_id == *a);
    CHECK(replaced[0].second == "replaced");
    CHECK(reg.find(*b));
    // With a gone, b holds the slot and c stays free; a replacement that never connects
    // (c, closed before connecting) leaves b untouched.
    CHECK(reg.create("d", "u1", app, robot, t0).error() == make_error_code(errc::session_limit));
    CHECK(reg.remove(*c));
    reg.advance(*b, webrtc_phase::connected, t0 + 30s); // a later report starts nothing
    CHECK(reg.expire(t0 + 1h).size() == 1); // e, still waiting for its offer
    CHECK(reg.find(*b));

    // The robot's node adopts a renewal for the same device and user only.
    CHECK(reg.adopt("s_x", "d", "u2", app, robot, t0, *b).error() == make_error_code(errc::session_not_found));
    CHECK(reg.adopt("s_x", "d", "u1", app, robot, t0).error() == make_error_code(errc::session_limit));
    CHECK(reg.adopt("s_x", "d", "u1", app, robot, t0, *b));
    CHECK(reg.find("s_x")->mirror);
}
