// fanout: D robots each emitting events to A apps. Phase "max" finds the delivered rate the
// relay sustains with a bounded number of events in flight per robot; phase "latency" offers a
// fixed rate and measures, per delivery, the time from the robot's send to the app's receipt.
#include "latency.hpp"
#include "scenario.hpp"

#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include <charconv>
#include <set>

namespace relay::bench {
namespace {

/** Arrival counts per event, indexed by event number modulo this size. Safe while it exceeds
 * twice the largest window: an app receives a robot's events in order, so an event completes
 * (reaches every app) only after all earlier ones have. */
constexpr std::size_t ring_size = 1 << 15;

/** The integer right after `key` (e.g. `"i":`) in `text`, or -1. Events are searched, not
 * parsed, so that the bench spends its CPU on sockets rather than on JSON. */
std::int64_t int_after(std::string_view text, std::string_view key)
{
    auto at = text.find(key);
    if (at == std::string_view::npos)
        return -1;
    std::int64_t v = -1;
    std::from_chars(text.data() + at + key.size(), text.data() + text.size(), v);
    return v;
}

/** One robot's sender. */
struct robot_driver {
    explicit robot_driver(net::io_context& ioc) : timer(ioc), arrivals(new std::atomic<std::uint32_t>[ring_size])
    {
        for (std::size_t i = 0; i < ring_size; ++i)
            arrivals[i].store(0, std::memory_order_relaxed);
    }

    std::shared_ptr<ws_peer> peer;
    std::size_t index = 0;

    // The robot's own thread only.
    net::steady_timer timer;
    bool timer_armed = false;
    bool running = false;
    double rate = 0; ///< events/s; 0 = as fast as the window allows
    std::chrono::steady_clock::time_point phase_start;
    std::uint64_t phase_first = 0;

    // Written by the robot's thread, read by the coordinator.
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> window_stalls{0};
    // Any thread: events every app has received, and whether the sender waits for that to grow.
    std::atomic<std::uint64_t> completed{0};
    std::atomic<bool> waiting{false};
    std::unique_ptr<std::atomic<std::uint32_t>[]> arrivals;
    /** Apps that have seen one of this robot's probe events (before the phases). */
    std::atomic<std::uint32_t> probed{0};
};

/** What the apps of one io thread saw; written by that thread only. */
struct alignas(64) thread_tally {
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> other{0};  ///< presence events and the like
    std::atomic<std::uint64_t> errors{0}; ///< error messages or unreadable events
    std::vector<std::int64_t> samples;    ///< delivery latencies, ns
};

struct phase_figures {
    double seconds = 0;
    std::uint64_t delivered = 0;
    std::uint64_t robot_events = 0;
    double relay_cpu_percent = -1; ///< every node together
    double redis_cpu_seconds = -1; ///< --redis-pid's user plus system time
    double bench_cpu_percent = 0;
};

class fanout {
public:
    explicit fanout(bench_context& ctx)
        : ctx_(ctx), o_(ctx.opts), apps_per_robot_(o_.apps)
    {
        if (o_.payload > 0)
            padding_ = fmt::format(R"(,"p":"{}")", std::string(o_.payload, 'x'));
        for (std::size_t i = 0; i < ctx.pool.size(); ++i)
            tallies_.push_back(std::make_unique<thread_tally>());
    }

    int run();

private:
    bool set_up(std::string& why);
    bool wait_subscribed(std::string& why);
    void start_phase(double rate_per_robot);
    void stop_phase();
    bool drain();
    void send_more(robot_driver& r);
    void on_app_message(ws_peer& p, std::string_view text);
    std::uint64_t delivered_total() const;
    std::uint64_t sent_total() const;
    std::uint64_t stalls_total() const;
    phase_figures measure(double seconds);
    void report_redis(phase_figures const& f, std::string const& phase);

    bench_context& ctx_;
    bench_options const& o_;
    unsigned const apps_per_robot_;
    std::string padding_;
    std::vector<std::unique_ptr<robot_driver>> robots_;
    std::vector<std::shared_ptr<ws_peer>> apps_;
    /** Per app (by its peer index), the robots whose probe it has seen; its own thread only. */
    std::vector<std::set<std::int64_t>> probed_;
    std::vector<std::shared_ptr<ws_peer>> robot_peers_;
    peer_counts app_counts_, robot_counts_;
    std::vector<std::unique_ptr<thread_tally>> tallies_;
    /** Events sent in [record_from_, record_to_) (steady ns) are the latency sample. */
    std::atomic<std::int64_t> record_from_{INT64_MAX};
    std::atomic<std::int64_t> record_to_{INT64_MAX};
    std::mutex error_mutex_;
    std::string first_error_; ///< under error_mutex_
};

bool fanout::set_up(std::string& why)
{
    auto const d = o_.robots, a = o_.apps, k = o_.app_users;
    auto accounts = ctx_.setup.create_accounts(std::size_t(d) * k);
    std::vector<std::size_t> owners;
    std::vector<http_setup::share_request> shares;
    for (std::size_t r = 0; r < d; ++r) {
        owners.push_back(r * k);
        for (std::size_t v = 1; v < k; ++v)
            shares.push_back({r, r * k, r * k + v});
    }
    auto devices = ctx_.setup.create_devices(accounts, owners);
    ctx_.setup.share(accounts, devices, shares);

    // On several nodes the robots are on the first and the apps spread over the others, so
    // every delivery crosses Redis.
    auto const nodes = ctx_.nodes.size();
    auto app_handlers = counted_handlers(app_counts_, [this](ws_peer& p, std::string_view t) { on_app_message(p, t); });
    for (std::size_t r = 0; r < d; ++r)
        for (std::size_t j = 0; j < a; ++j)
            apps_.push_back(make_peer(ctx_, apps_.size(), peer_identity{false, accounts[r * k + j % k].access_token, {}, {}},
                                      app_handlers, nodes > 1 ? 1 + apps_.size() % (nodes - 1) : 0));
    probed_.resize(apps_.size());
    // Robots ignore what the relay sends them (nothing, in this scenario; acks if any).
    auto robot_handlers = counted_handlers(robot_counts_, {});
    for (std::size_t r = 0; r < d; ++r) {
        auto peer = make_peer(ctx_, apps_.size() + r, peer_identity{true, {}, devices[r].device_id, devices[r].secret},
                              robot_handlers);
        auto driver = std::make_unique<robot_driver>(ctx_.pool.context(peer->context_index()));
        driver->peer = peer;
        driver->index = r;
        robots_.push_back(std::move(driver));
        robot_peers_.push_back(std::move(peer));
    }
    if (!connect_all(ctx_, apps_, app_counts_, o_.connect_concurrency, why))
        return false;
    if (!connect_all(ctx_, robot_peers_, robot_counts_, o_.connect_concurrency, why))
        return false;
    // Let the robot_connected presence events reach the apps before anything is counted.
    sleep_seconds(0.2);
    return wait_subscribed(why);
}

bool fanout::wait_subscribed(std::string& why)
{
    // Another node forwards a robot's events once it has subscribed to the robot's channel for
    // its apps, which may be a moment after their auth_ok. Counting starts once every app has
    // seen a probe event: each robot repeats one until all of its apps have one. On one node
    // the first probe does it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o_.timeout_s);
    for (;;) {
        bool all = true;
        for (auto& r : robots_)
            if (r->probed.load() < apps_per_robot_) {
                all = false;
                net::post(r->peer->executor(), [&r = *r] {
                    r.peer->send(fmt::format(R"({{"type":"event","event":"bench_probe","data":{{"probe":{}}}}})", r.index));
                });
            }
        if (all)
            return true;
        if (std::chrono::steady_clock::now() > deadline) {
            why = "not every app received the robots' probe events (subscriptions on the other nodes)";
            return false;
        }
        sleep_seconds(0.05);
    }
}

void fanout::send_more(robot_driver& r)
{
    if (!r.running)
        return;
    auto now = std::chrono::steady_clock::now();
    std::uint64_t sent = r.sent.load(std::memory_order_relaxed);
    std::uint64_t due = UINT64_MAX;
    if (r.rate > 0)
        due = r.phase_first +
              static_cast<std::uint64_t>(std::chrono::duration<double>(now - r.phase_start).count() * r.rate) + 1;
    while (sent < due) {
        if (sent - r.completed.load() >= o_.window) {
            // Full window: ask the app threads to wake us, then look again in case the last
            // completion landed before they could see the request.
            r.waiting.store(true);
            if (sent - r.completed.load() >= o_.window) {
                r.window_stalls.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            r.waiting.store(false);
            continue;
        }
        r.peer->send(fmt::format(R"({{"type":"event","event":"bench","data":{{"r":{},"i":{},"t":{}{}}}}})", r.index,
                                 sent, now_ns(), padding_));
        r.sent.store(++sent, std::memory_order_relaxed);
    }
    if (r.rate > 0 && !r.timer_armed) {
        // Wake when the next event is due: sends follow the schedule, not the timer's jitter.
        auto next = r.phase_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(double(sent - r.phase_first) / r.rate));
        r.timer_armed = true;
        r.timer.expires_at(next);
        r.timer.async_wait([this, &r](beast::error_code ec) {
            r.timer_armed = false;
            if (!ec)
                send_more(r);
        });
    }
}

void fanout::on_app_message(ws_peer& p, std::string_view text)
{
    auto& tally = *tallies_[p.context_index()];
    auto now = now_ns();
    std::int64_t r = -1, i = -1, t = -1;
    // The relay keeps the order of the robot's data, so one search finds all three numbers;
    // the key-by-key search is the fallback should that ever change.
    constexpr std::string_view marker = R"("data":{"r":)";
    constexpr std::string_view probe_marker = R"("data":{"probe":)";
    if (auto at = text.find(probe_marker); at != std::string_view::npos) {
        // Probes before the phases: one count per app and robot (the app's own flag).
        std::int64_t robot = int_after(text, probe_marker);
        if (robot >= 0 && std::size_t(robot) < robots_.size() && probed_[p.index()].insert(robot).second)
            robots_[robot]->probed.fetch_add(1);
        return;
    }
    if (auto at = text.find(marker); at != std::string_view::npos) {
        auto const* end = text.data() + text.size();
        auto const* c = text.data() + at + marker.size();
        auto number = [&](std::int64_t& out, std::string_view next_key) {
            auto [q, ec] = std::from_chars(c, end, out);
            if (ec != std::errc())
                return false;
            c = q;
            if (next_key.empty())
                return true;
            if (std::size_t(end - c) < next_key.size() || std::string_view(c, next_key.size()) != next_key)
                return false;
            c += next_key.size();
            return true;
        };
        if (!(number(r, R"(,"i":)") && number(i, R"(,"t":)") && number(t, {}))) {
            r = int_after(text, R"("r":)");
            i = int_after(text, R"("i":)");
            t = int_after(text, R"("t":)");
        }
    } else {
        if (text.find(R"("type":"error")") != std::string_view::npos) {
            tally.errors.fetch_add(1, std::memory_order_relaxed);
            std::lock_guard lock(error_mutex_);
            if (first_error_.empty())
                first_error_ = std::string(text.substr(0, 200));
        } else {
            tally.other.fetch_add(1, std::memory_order_relaxed);
        }
        return;
    }
    if (r < 0 || std::size_t(r) >= robots_.size() || i < 0 || t < 0) {
        tally.errors.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // One writer per tally (this thread), so a plain load and store is enough.
    tally.delivered.store(tally.delivered.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (t >= record_from_.load(std::memory_order_relaxed) && t < record_to_.load(std::memory_order_relaxed))
        tally.samples.push_back(now - t);
    auto& robot = *robots_[r];
    auto& slot = robot.arrivals[std::size_t(i) % ring_size];
    if (slot.fetch_add(1, std::memory_order_acq_rel) + 1 == apps_per_robot_) {
        slot.store(0, std::memory_order_relaxed);
        robot.completed.fetch_add(1);
        if (robot.waiting.exchange(false))
            net::post(robot.peer->executor(), [this, &robot] { send_more(robot); });
    }
}

void fanout::start_phase(double rate_per_robot)
{
    for (auto& r : robots_)
        net::post(r->peer->executor(), [this, &r = *r, rate_per_robot] {
            r.running = true;
            r.rate = rate_per_robot;
            r.phase_start = std::chrono::steady_clock::now();
            r.phase_first = r.sent.load(std::memory_order_relaxed);
            send_more(r);
        });
}

void fanout::stop_phase()
{
    for (auto& r : robots_)
        ctx_.pool.run_on(r->peer->context_index(), [&r = *r] {
            r.running = false;
            r.timer.cancel();
        });
}

bool fanout::drain()
{
    return wait_until(
        [&] {
            for (auto& r : robots_)
                if (r->completed.load() != r->sent.load())
                    return false;
            return true;
        },
        std::min(o_.timeout_s, 30.0));
}

std::uint64_t fanout::delivered_total() const
{
    std::uint64_t n = 0;
    for (auto const& t : tallies_)
        n += t->delivered.load(std::memory_order_relaxed);
    return n;
}

std::uint64_t fanout::sent_total() const
{
    std::uint64_t n = 0;
    for (auto const& r : robots_)
        n += r->sent.load(std::memory_order_relaxed);
    return n;
}

std::uint64_t fanout::stalls_total() const
{
    std::uint64_t n = 0;
    for (auto const& r : robots_)
        n += r->window_stalls.load(std::memory_order_relaxed);
    return n;
}

phase_figures fanout::measure(double seconds)
{
    auto relay_cpu0 = nodes_cpu_seconds(ctx_);
    auto redis_cpu0 = read_cpu_seconds(o_.target.redis_pid);
    auto bench_cpu0 = own_cpu_seconds();
    auto d0 = delivered_total();
    auto s0 = sent_total();
    auto t0 = std::chrono::steady_clock::now();
    sleep_seconds(seconds);
    auto d1 = delivered_total();
    auto s1 = sent_total();
    auto t1 = std::chrono::steady_clock::now();
    phase_figures f;
    f.seconds = std::chrono::duration<double>(t1 - t0).count();
    f.delivered = d1 - d0;
    f.robot_events = s1 - s0;
    if (relay_cpu0 >= 0)
        f.relay_cpu_percent = 100 * (nodes_cpu_seconds(ctx_) - relay_cpu0) / f.seconds;
    if (redis_cpu0 >= 0)
        f.redis_cpu_seconds = read_cpu_seconds(o_.target.redis_pid) - redis_cpu0;
    f.bench_cpu_percent = 100 * (own_cpu_seconds() - bench_cpu0) / f.seconds;
    return f;
}

void fanout::report_redis(phase_figures const& f, std::string const& phase)
{
    if (f.redis_cpu_seconds < 0)
        return;
    auto& out = ctx_.out;
    out.figure(phase + "_redis_cpu_percent", "redis-server CPU during " + phase + " phase",
               100 * f.redis_cpu_seconds / f.seconds, "%");
    // A robot event is one script call in Redis and one message to each subscribed node.
    if (f.robot_events > 0)
        out.figure(phase + "_redis_cpu_us_per_event", "redis-server CPU per robot event",
                   1e6 * f.redis_cpu_seconds / double(f.robot_events), "us");
    if (f.delivered > 0)
        out.figure(phase + "_redis_cpu_us_per_delivery", "redis-server CPU per delivered event",
                   1e6 * f.redis_cpu_seconds / double(f.delivered), "us");
}

int fanout::run()
{
    auto& out = ctx_.out;
    out.config("robots", o_.robots);
    out.config("apps_per_robot", o_.apps);
    out.config("app_users_per_robot", o_.app_users);
    out.config("window", o_.window);
    out.config("payload_bytes", o_.payload);
    out.config("duration_s", o_.duration_s);
    out.config("warmup_s", o_.warmup_s);

    std::string why;
    if (!set_up(why)) {
        out.note("setup failed: " + why);
        ctx_.pool.barrier();
        return 1;
    }
    bool const target_shape = o_.robots == 1 && o_.apps == 100;
    // The issue's targets: one node 300,000/s; 1 robot on one node and its 100 apps on 3 others
    // 200,000/s.
    bool const cluster = ctx_.nodes.size() > 1;
    double const max_target = cluster ? 200000 : 300000;
    int status = 0;
    double max_rate = 0;

    if (o_.phases != "latency") {
        auto stalls0 = stalls_total();
        start_phase(0);
        sleep_seconds(o_.warmup_s);
        auto f = measure(o_.duration_s);
        stop_phase();
        if (!drain()) {
            out.note("max phase: events still undelivered 30 s after the robots stopped");
            status = 1;
        }
        max_rate = double(f.delivered) / f.seconds;
        out.figure("max_delivered_per_s", "max delivered events/s (at the apps)", max_rate, "/s",
                   target_shape ? fmt::format(">= {:.0f} /s", max_target) : "",
                   target_shape ? std::optional(max_rate >= max_target) : std::nullopt);
        out.figure("max_robot_events_per_s", "robot events/s at that rate", double(f.robot_events) / f.seconds, "/s");
        if (f.relay_cpu_percent >= 0)
            out.figure("max_relay_cpu_percent", "relayd CPU (all nodes) during max phase", f.relay_cpu_percent, "%");
        out.figure("max_bench_cpu_percent", "relay-bench CPU during max phase", f.bench_cpu_percent, "%");
        out.figure("max_window_waits", "times a robot's window was full", stalls_total() - stalls0, "");
        report_redis(f, "max");
    }

    if (o_.phases != "max") {
        double rate = o_.rate > 0 ? o_.rate : max_rate > 0 ? max_rate / 2 : 150000;
        double per_robot = rate / (double(o_.robots) * o_.apps);
        auto stalls0 = stalls_total();
        start_phase(per_robot);
        sleep_seconds(o_.warmup_s);
        auto from = now_ns();
        record_to_.store(from + static_cast<std::int64_t>(o_.duration_s * 1e9));
        record_from_.store(from);
        auto f = measure(o_.duration_s);
        stop_phase();
        if (!drain()) {
            out.note("latency phase: events still undelivered 30 s after the robots stopped");
            status = 1;
        }
        std::vector<std::int64_t> samples;
        for (std::size_t i = 0; i < ctx_.pool.size(); ++i)
            ctx_.pool.run_on(i, [&] {
                auto& s = tallies_[i]->samples;
                samples.insert(samples.end(), s.begin(), s.end());
                s.clear();
            });
        auto lat = summarize(samples);
        bool at_target_rate = rate >= 150000 * 0.99 && lat.count > 0;
        out.figure("latency_offered_per_s", "latency phase: offered delivered events/s", rate, "/s");
        out.figure("latency_delivered_per_s", "latency phase: achieved delivered events/s",
                   double(f.delivered) / f.seconds, "/s");
        out.figure("latency_samples", "latency samples", lat.count, "");
        out.figure("latency_p50_us", "delivery latency p50", lat.p50_us, "us");
        out.figure("latency_p90_us", "delivery latency p90", lat.p90_us, "us");
        // On several nodes the p99 at half the rate is recorded, with no target of its own.
        bool const p99_target = target_shape && !cluster;
        out.figure("latency_p99_us", "delivery latency p99", lat.p99_us, "us",
                   p99_target ? "<= 2000 us at 150000 /s" : "",
                   p99_target ? std::optional(lat.p99_us <= 2000 && at_target_rate) : std::nullopt);
        out.figure("latency_p999_us", "delivery latency p99.9", lat.p999_us, "us");
        out.figure("latency_max_us", "delivery latency max", lat.max_us, "us");
        if (f.relay_cpu_percent >= 0)
            out.figure("latency_relay_cpu_percent", "relayd CPU (all nodes) during latency phase", f.relay_cpu_percent, "%");
        out.figure("latency_bench_cpu_percent", "relay-bench CPU during latency phase", f.bench_cpu_percent, "%");
        report_redis(f, "latency");
        // Non-zero means the relay fell behind the offered rate and the window held robots back.
        out.figure("latency_window_waits", "times a robot's window was full", stalls_total() - stalls0, "");
        if (p99_target && !at_target_rate)
            out.note(fmt::format("latency measured at {:.0f}/s, below the target's 150000/s", rate));
    }

    std::uint64_t errors = 0;
    for (auto const& t : tallies_)
        errors += t->errors.load();
    out.figure("errors", "error messages at the apps", errors, "");
    out.figure("dropped_connections", "connections dropped during the run",
               app_counts_.closed.load() + robot_counts_.closed.load(), "");
    if (errors > 0)
        out.note("first error: " + first_error_);
    // Handlers still queued (a cancelled timer, a wake-up) refer to this object: end_run lets them run.
    return end_run(ctx_, robot_peers_, robot_counts_, apps_, app_counts_, status);
}

} // namespace

int run_fanout(bench_context& ctx)
{
    fanout f(ctx);
    return f.run();
}

} // namespace relay::bench
