// soak: a field-like load held for a long time (scripts/soak.sh). Households of one user, one
// robot and one phone; every robot sends an acknowledged event each --event-period, every phone
// a command each --command-period, and a share of the connections is closed and comes back
// every minute: a phone resumes from the last seq it holds, a robot re-sends every event the
// relay has not acknowledged (its outbox). relayd's VmRSS, open descriptors and CPU are sampled
// from /proc. The run fails when memory grows after warming up, descriptors leak, an
// acknowledged event does not reach its phone exactly once in seq order, or a command gets no
// result.
#include "scenario.hpp"

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <random>

namespace relay::bench {
namespace {

/** A command unanswered this long is lost: the relay answers DEVICE_OFFLINE at once when the
 * robot goes away, so only a lost message leaves one waiting. */
constexpr double command_timeout_s = 30;
/** Descriptors relayd may hold beyond its baseline and the connections this run holds: ones
 * closing, a store connection more. Growth past it, sample after sample, is a leak. */
constexpr long descriptor_slack = 64;
/** Memory may grow this much (percent) after the warm-up minutes, no more. */
constexpr double rss_growth_limit_percent = 10;
constexpr double rss_warmup_minutes = 5;

/** The 1-minute load average, a note on how shared the machine was. */
double load_average()
{
    double load = -1;
    if (auto* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1)
            load = -1;
        std::fclose(f);
    }
    return load;
}

class soak {
public:
    explicit soak(bench_context& ctx) : ctx_(ctx), o_(ctx.opts) {}
    int run();

private:
    /** One user's robot and phone and what each has seen. Touched only on context
     * `index % pool size`, the thread both its peers run on. */
    struct household {
        std::size_t index = 0;
        std::string device_id, secret, token;
        std::shared_ptr<ws_peer> robot, phone;
        bool robot_ready = false, phone_ready = false;
        bool robot_leaving = false, phone_leaving = false; ///< closed on purpose, to come back
        bool phone_close_pending = false;                  ///< to close once its command is answered
        bool phone_connected_before = false;

        // Robot: event k of this household carries id "e<k>"; seq_of[k] is the seq the relay
        // acknowledged it with (0 = not yet: in the outbox, re-sent on every new connection).
        std::vector<std::uint64_t> seq_of;
        std::size_t first_unacked = 0;
        std::int64_t next_event_ns = 0;

        // Phone: every seq from first_seq up to last_seq arrived in order; ahead holds those
        // that came past a gap (seq → k), delivered once the gap fills. The relay's seqs of a
        // device start anywhere (not at 1): the first event sets first_seq, and the robot's
        // acks say whether that was the device's first.
        std::uint64_t first_seq = 0; ///< 0: no event yet
        std::uint64_t last_seq = 0;
        std::vector<std::uint64_t> k_of_seq; ///< seq - first_seq → k of the event that carried it
        std::map<std::uint64_t, std::uint64_t> ahead;
        bool resuming = false;
        bool dropped_one = false; ///< --inject-loss

        // Commands: one at a time, "c<n>"; a DEVICE_OFFLINE answer is retried with a new id.
        std::uint64_t next_command = 0;
        std::optional<std::uint64_t> in_flight;
        std::int64_t in_flight_since_ns = 0;
        std::int64_t next_command_ns = 0;
    };

    /** Counters the io threads update and the coordinator reads. */
    struct counters {
        std::atomic<std::uint64_t> events_made{0}, events_acked{0}, events_delivered{0}, events_resent{0};
        std::atomic<std::uint64_t> duplicates{0}, reordered{0}, ack_mismatches{0}, incomplete_resumes{0};
        std::atomic<std::uint64_t> commands_sent{0}, commands_ok{0}, commands_offline{0}, commands_failed{0},
            commands_lost{0};
        std::atomic<std::uint64_t> replaced{0}, unexpected_drops{0}, connect_failures{0};
        std::atomic<long> held{0};
    };

    household& at(ws_peer const& p) { return households_[p.index()]; }
    void connect_robot(household& h);
    void connect_phone(household& h);
    void on_robot_message(ws_peer& p, std::string_view text);
    void on_phone_message(ws_peer& p, std::string_view text);
    void on_closed(ws_peer& p, std::string const& why);
    void on_phone_event(household& h, std::uint64_t seq, std::uint64_t k);
    void send_event(household& h, std::size_t k);
    void send_command(household& h);
    void after(household& h, double seconds, std::function<void()> fn);
    /** Each context's tick: due events and commands of its households. */
    void tick(std::size_t context);
    void schedule_tick(std::size_t context);
    void replace(household& h, bool robot);
    void note_failure(std::string why);

    bench_context& ctx_;
    bench_options const& o_;
    std::vector<household> households_;
    std::shared_ptr<peer_handlers const> robot_handlers_, phone_handlers_;
    std::vector<std::unique_ptr<net::steady_timer>> tick_timers_;
    std::atomic<bool> generating_{true}; ///< events and commands are made
    std::atomic<bool> ending_{false};    ///< connections close for good now
    counters c_;
    std::mutex failure_mutex_;
    std::vector<std::string> failures_; ///< under failure_mutex_, the first few reasons
};

void soak::note_failure(std::string why)
{
    std::lock_guard lock(failure_mutex_);
    if (failures_.size() < 20)
        failures_.push_back(std::move(why));
}

void soak::after(household& h, double seconds, std::function<void()> fn)
{
    auto timer = std::make_shared<net::steady_timer>(ctx_.pool.context(h.index),
                                                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                         std::chrono::duration<double>(seconds)));
    timer->async_wait([timer, fn = std::move(fn)](beast::error_code ec) {
        if (!ec)
            fn();
    });
}

void soak::connect_robot(household& h)
{
    h.robot_ready = false;
    h.robot_leaving = false;
    h.robot = make_peer(ctx_, h.index, peer_identity{true, {}, h.device_id, h.secret}, robot_handlers_);
    h.robot->start();
}

void soak::connect_phone(household& h)
{
    h.phone_ready = false;
    h.phone_leaving = false;
    h.phone_close_pending = false;
    h.phone = make_peer(ctx_, h.index, peer_identity{false, h.token, {}, {}}, phone_handlers_);
    h.phone->start();
}

void soak::send_event(household& h, std::size_t k)
{
    h.robot->send(fmt::format(R"({{"type":"event","event":"soak","id":"e{}","data":{{"k":{}}}}})", k, k));
}

void soak::send_command(household& h)
{
    auto n = h.next_command++;
    h.in_flight = n;
    h.in_flight_since_ns = now_ns();
    c_.commands_sent.fetch_add(1, std::memory_order_relaxed);
    h.phone->send(fmt::format(R"({{"type":"command","device_id":"{}","id":"c{}","command":"soak"}})", h.device_id, n));
}

void soak::on_robot_message(ws_peer& p, std::string_view text)
{
    auto& h = at(p);
    if (h.robot.get() != &p)
        return; // an earlier connection still draining
    if (text.find(R"("type":"ack")") != std::string_view::npos) {
        auto k = id_number(string_after(text, R"("ref":")"), 'e');
        auto seq = number_after(text, R"("seq":)");
        if (k < 0 || std::size_t(k) >= h.seq_of.size() || seq <= 0) {
            note_failure(fmt::format("household {}: an ack the robot cannot place: {}", h.index, text.substr(0, 200)));
            c_.ack_mismatches.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        auto& known = h.seq_of[std::size_t(k)];
        if (known == 0) {
            known = std::uint64_t(seq);
            c_.events_acked.fetch_add(1, std::memory_order_relaxed);
            while (h.first_unacked < h.seq_of.size() && h.seq_of[h.first_unacked] != 0)
                ++h.first_unacked;
        } else if (known != std::uint64_t(seq)) {
            // A re-sent event must get the answer the first one got.
            c_.ack_mismatches.fetch_add(1, std::memory_order_relaxed);
            note_failure(fmt::format("household {}: event e{} acknowledged with seq {} and then {}", h.index, k, known, seq));
        }
        return;
    }
    answer_command(p, text);
}

void soak::on_phone_event(household& h, std::uint64_t seq, std::uint64_t k)
{
    if (h.first_seq == 0) {
        h.first_seq = seq;
        h.last_seq = seq - 1;
    }
    if (o_.inject_loss && h.index == 0 && seq == h.first_seq + 4 && !h.dropped_one) {
        h.dropped_one = true; // the accounting must notice
        return;
    }
    if (seq <= h.last_seq || h.ahead.contains(seq)) {
        c_.duplicates.fetch_add(1, std::memory_order_relaxed);
        note_failure(fmt::format("household {}: seq {} arrived twice", h.index, seq));
        return;
    }
    if (seq != h.last_seq + 1) {
        c_.reordered.fetch_add(1, std::memory_order_relaxed);
        h.ahead.emplace(seq, k);
        return;
    }
    auto deliver = [&](std::uint64_t s, std::uint64_t kk) {
        h.last_seq = s;
        h.k_of_seq.push_back(kk); // index s - first_seq: every seq before s is in
        c_.events_delivered.fetch_add(1, std::memory_order_relaxed);
    };
    deliver(seq, k);
    while (!h.ahead.empty() && h.ahead.begin()->first == h.last_seq + 1) {
        deliver(h.ahead.begin()->first, h.ahead.begin()->second);
        h.ahead.erase(h.ahead.begin());
    }
}

void soak::on_phone_message(ws_peer& p, std::string_view text)
{
    auto& h = at(p);
    if (h.phone.get() != &p)
        return;
    auto type = string_after(text, R"("type":")");
    if (type == "event") {
        if (string_after(text, R"("event":")") != "soak")
            return; // presence
        auto seq = number_after(text, R"("seq":)");
        auto k = number_after(text, R"("data":{"k":)");
        if (seq <= 0 || k < 0) {
            note_failure(fmt::format("household {}: an event without seq or k: {}", h.index, text.substr(0, 200)));
            return;
        }
        on_phone_event(h, std::uint64_t(seq), std::uint64_t(k));
        return;
    }
    if (type == "resumed") {
        h.resuming = false;
        if (text.find(R"("complete":true)") == std::string_view::npos) {
            c_.incomplete_resumes.fetch_add(1, std::memory_order_relaxed);
            note_failure(fmt::format("household {}: resume incomplete: {}", h.index, text.substr(0, 200)));
        }
        return;
    }
    bool result = type == "command_result";
    bool error = type == "error";
    if (!result && !error)
        return; // acks of commands, pongs
    auto n = id_number(string_after(text, result ? R"("id":")" : R"("ref":")"), 'c');
    if (!h.in_flight || n != std::int64_t(*h.in_flight)) {
        note_failure(fmt::format("household {}: an answer to no pending command: {}", h.index, text.substr(0, 200)));
        c_.commands_failed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    h.in_flight.reset();
    if (result && text.find(R"("ok":true)") != std::string_view::npos) {
        c_.commands_ok.fetch_add(1, std::memory_order_relaxed);
    } else if (error && string_after(text, R"("code":")") == "DEVICE_OFFLINE") {
        // The robot was being replaced: the command is sent again (a new id) once it is back.
        c_.commands_offline.fetch_add(1, std::memory_order_relaxed);
        h.next_command_ns = now_ns() + std::int64_t(o_.reconnect_delay_s * 1e9) + 500'000'000;
        if (h.phone_close_pending)
            replace(h, false);
        return;
    } else {
        c_.commands_failed.fetch_add(1, std::memory_order_relaxed);
        note_failure(fmt::format("household {}: command answered {}", h.index, text.substr(0, 200)));
    }
    h.next_command_ns = std::max(h.next_command_ns, now_ns());
    if (h.phone_close_pending)
        replace(h, false);
}

void soak::on_closed(ws_peer& p, std::string const& why)
{
    auto& h = at(p);
    bool robot = &p == h.robot.get();
    if (!robot && &p != h.phone.get())
        return;
    if (p.was_ready())
        c_.held.fetch_sub(1, std::memory_order_relaxed);
    bool leaving = robot ? h.robot_leaving : h.phone_leaving;
    (robot ? h.robot_ready : h.phone_ready) = false;
    if (ending_.load())
        return;
    if (!leaving) {
        // Nothing closes a connection in this run but the run itself.
        (p.was_ready() ? c_.unexpected_drops : c_.connect_failures).fetch_add(1, std::memory_order_relaxed);
        note_failure(fmt::format("household {}: {} connection ended: {}", h.index, robot ? "robot" : "phone", why));
    }
    if (!robot && h.in_flight) {
        // Its answer would have gone to this connection only.
        h.in_flight.reset();
        c_.commands_lost.fetch_add(1, std::memory_order_relaxed);
        note_failure(fmt::format("household {}: the phone closed with a command pending", h.index));
    }
    after(h, o_.reconnect_delay_s, [this, &h, robot] {
        if (ending_.load())
            return;
        if (robot)
            connect_robot(h);
        else
            connect_phone(h);
    });
}

void soak::replace(household& h, bool robot)
{
    if (robot) {
        if (!h.robot_ready || h.robot_leaving)
            return;
        h.robot_leaving = true;
        c_.replaced.fetch_add(1, std::memory_order_relaxed);
        h.robot->close();
        return;
    }
    if (!h.phone_ready || h.phone_leaving)
        return;
    if (h.in_flight) {
        // Its answer goes to this connection only: close once it has come.
        h.phone_close_pending = true;
        return;
    }
    h.phone_close_pending = false;
    h.phone_leaving = true;
    c_.replaced.fetch_add(1, std::memory_order_relaxed);
    h.phone->close();
}

void soak::tick(std::size_t context)
{
    auto now = now_ns();
    auto event_period = std::int64_t(o_.event_period_s * 1e9);
    auto command_period = std::int64_t(o_.command_period_s * 1e9);
    bool generating = generating_.load();
    for (std::size_t i = context; i < households_.size(); i += ctx_.pool.size()) {
        auto& h = households_[i];
        while (generating && now >= h.next_event_ns) {
            // Made whether or not the robot is connected: a robot queues them in its outbox.
            h.next_event_ns += event_period;
            auto k = h.seq_of.size();
            h.seq_of.push_back(0);
            c_.events_made.fetch_add(1, std::memory_order_relaxed);
            if (h.robot_ready && !h.robot_leaving)
                send_event(h, k);
        }
        if (h.in_flight) {
            if (double(now - h.in_flight_since_ns) / 1e9 > command_timeout_s) {
                c_.commands_lost.fetch_add(1, std::memory_order_relaxed);
                note_failure(fmt::format("household {}: command c{} got no answer in {:.0f} s", h.index, *h.in_flight,
                                         command_timeout_s));
                h.in_flight.reset();
            }
        } else if (generating && now >= h.next_command_ns && h.phone_ready && !h.phone_leaving &&
                   !h.phone_close_pending) {
            h.next_command_ns = std::max(h.next_command_ns + command_period, now);
            send_command(h);
        }
    }
    schedule_tick(context);
}

void soak::schedule_tick(std::size_t context)
{
    auto& timer = *tick_timers_[context];
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([this, context](beast::error_code ec) {
        if (!ec)
            tick(context);
    });
}

int soak::run()
{
    auto& out = ctx_.out;
    auto const n = std::size_t(o_.households);
    out.config("households", o_.households);
    out.config("minutes", o_.minutes);
    out.config("event_period_s", o_.event_period_s);
    out.config("command_period_s", o_.command_period_s);
    out.config("replace_percent_per_minute", o_.replace_percent);
    out.config("sample_interval_s", o_.sample_s);
    out.config("reconnect_delay_s", o_.reconnect_delay_s);
    if (ctx_.relay.pid() <= 0) {
        out.note("soak needs the relay's pid: use --spawn, or --relayd-pid with --relay");
        return 2;
    }
    pid_t const pid = ctx_.relay.pid();

    auto setup_start = now_ns();
    auto accounts = ctx_.setup.create_accounts(n);
    std::vector<std::size_t> owners(n);
    for (std::size_t i = 0; i < n; ++i)
        owners[i] = i;
    auto devices = ctx_.setup.create_devices(accounts, owners);
    out.figure("setup_s", "households created over HTTP", double(now_ns() - setup_start) / 1e9, "s");

    households_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& h = households_[i];
        h.index = i;
        h.device_id = devices[i].device_id;
        h.secret = devices[i].secret;
        h.token = accounts[i].access_token;
    }
    robot_handlers_ = std::make_shared<peer_handlers const>(peer_handlers{
        [this](ws_peer& p) {
            auto& h = at(p);
            if (h.robot.get() != &p)
                return;
            c_.held.fetch_add(1, std::memory_order_relaxed);
            h.robot_ready = true;
            // The outbox first, in order: everything the relay has not acknowledged.
            for (auto k = h.first_unacked; k < h.seq_of.size(); ++k)
                if (h.seq_of[k] == 0) {
                    if (h.robot_leaving)
                        break;
                    send_event(h, k);
                    c_.events_resent.fetch_add(1, std::memory_order_relaxed);
                }
        },
        [this](ws_peer& p, std::string_view t) { on_robot_message(p, t); },
        [this](ws_peer& p, std::string const& why) { on_closed(p, why); }});
    phone_handlers_ = std::make_shared<peer_handlers const>(peer_handlers{
        [this](ws_peer& p) {
            auto& h = at(p);
            if (h.phone.get() != &p)
                return;
            c_.held.fetch_add(1, std::memory_order_relaxed);
            h.phone_ready = true;
            if (h.phone_connected_before) {
                h.resuming = true;
                p.send(fmt::format(R"({{"type":"resume","device_id":"{}","after_seq":{}}})", h.device_id, h.last_seq));
            }
            h.phone_connected_before = true;
        },
        [this](ws_peer& p, std::string_view t) { on_phone_message(p, t); },
        [this](ws_peer& p, std::string const& why) { on_closed(p, why); }});

    // Baselines before any WebSocket: the setup's HTTP connections have closed by now.
    sleep_seconds(1);
    auto const fds_baseline = read_descriptor_count(pid);
    auto const rss_baseline = read_rss_kb(pid);
    out.figure("fds_baseline", "relayd descriptors before the load", fds_baseline, "");
    out.figure("rss_baseline_kb", "relayd VmRSS before the load", rss_baseline, "KB");

    // Phones first, so that no event is made before its phone listens; then robots, which the
    // first tick starts sending from.
    auto connect_group = [&](bool robots) {
        auto const base = c_.held.load();
        for (std::size_t i = 0; i < n; ++i) {
            ctx_.pool.run_on(i, [&, i] { robots ? connect_robot(households_[i]) : connect_phone(households_[i]); });
            // A bounded number of handshakes in flight.
            wait_until([&] { return c_.held.load() - base + long(o_.connect_concurrency) > long(i + 1); }, o_.timeout_s);
        }
        return wait_until([&] { return c_.held.load() - base >= long(n); }, o_.timeout_s) &&
               c_.connect_failures.load() == 0;
    };
    int status = 0;
    if (!connect_group(false) || !connect_group(true)) {
        out.note(fmt::format("not every connection authenticated within {:.0f} s ({} held of {})", o_.timeout_s,
                             c_.held.load(), 2 * n));
        status = 1;
    }

    std::ofstream csv;
    if (!o_.csv_path.empty()) {
        csv.open(o_.csv_path);
        csv << "elapsed_s,rss_kb,fds,cpu_s,cpu_percent,connections,events_made,events_acked,events_delivered,"
               "commands_ok,replaced,load1\n";
    }
    auto const run_start = now_ns();
    double cpu_last = read_cpu_seconds(pid);
    std::int64_t cpu_last_ns = run_start;
    std::optional<long> rss_after_warmup;
    long rss_max_after_warmup = 0;
    long fds_over = 0;
    boost::json::array samples;
    auto sample = [&](double elapsed) {
        auto rss = read_rss_kb(pid);
        auto fds = read_descriptor_count(pid);
        auto cpu = read_cpu_seconds(pid);
        auto t = now_ns();
        // The first sample has no interval behind it worth a percentage.
        double cpu_percent = elapsed > 0 && t > cpu_last_ns ? 100.0 * (cpu - cpu_last) / (double(t - cpu_last_ns) / 1e9) : 0;
        cpu_last = cpu;
        cpu_last_ns = t;
        auto held = c_.held.load();
        if (csv.is_open())
            csv << fmt::format("{:.0f},{},{},{:.2f},{:.1f},{},{},{},{},{},{},{:.2f}\n", elapsed, rss, fds, cpu,
                               cpu_percent, held, c_.events_made.load(), c_.events_acked.load(),
                               c_.events_delivered.load(), c_.commands_ok.load(), c_.replaced.load(), load_average())
                << std::flush;
        samples.push_back(boost::json::array{std::llround(elapsed), rss, fds, std::round(cpu_percent * 10) / 10, held});
        if (elapsed / 60 >= rss_warmup_minutes - 1e-6) {
            if (!rss_after_warmup)
                rss_after_warmup = rss;
            rss_max_after_warmup = std::max(rss_max_after_warmup, rss);
        }
        if (fds > fds_baseline + held + descriptor_slack) {
            ++fds_over;
            note_failure(fmt::format("at {:.0f} s relayd holds {} descriptors: baseline {} + {} connections + {} slack",
                                     elapsed, fds, fds_baseline, held, descriptor_slack));
        }
    };

    if (status == 0) {
        for (std::size_t i = 0; i < ctx_.pool.size(); ++i)
            tick_timers_.push_back(std::make_unique<net::steady_timer>(ctx_.pool.context(i)));
        // Events and commands spread evenly over their periods, not all in the same instant.
        for (std::size_t i = 0; i < n; ++i)
            ctx_.pool.run_on(i, [&, i] {
                auto& h = households_[i];
                h.next_event_ns = run_start + std::int64_t(o_.event_period_s * 1e9 * double(i) / double(n));
                h.next_command_ns = run_start + std::int64_t(o_.command_period_s * 1e9 * double(i) / double(n));
            });
        for (std::size_t i = 0; i < ctx_.pool.size(); ++i)
            ctx_.pool.run_on(i, [&, i] { schedule_tick(i); });
        sample(0);

        // Replacements: replace_percent of all connections per minute, evenly spaced, a random
        // household's robot or phone each time.
        double per_minute = o_.replace_percent / 100.0 * double(2 * n);
        double replace_every_s = per_minute > 0 ? 60.0 / per_minute : 0;
        std::mt19937_64 rng(12345);
        double const total_s = o_.minutes * 60;
        double next_sample = o_.sample_s, next_replace = replace_every_s > 0 ? replace_every_s / 2 : total_s + 1;
        for (;;) {
            double elapsed = double(now_ns() - run_start) / 1e9;
            if (elapsed >= total_s)
                break;
            if (elapsed >= next_replace) {
                next_replace += replace_every_s;
                auto i = std::size_t(rng() % n);
                bool robot = rng() % 2 == 0;
                if (!(o_.inject_loss && i == 0))
                    ctx_.pool.run_on(i, [&, i, robot] { replace(households_[i], robot); });
            }
            if (elapsed >= next_sample) {
                sample(next_sample);
                next_sample += o_.sample_s;
            }
            sleep_seconds(0.05);
        }
        if (next_sample <= total_s + 1e-6)
            sample(total_s);
        generating_.store(false);

        // Drain: every connection back, every event acknowledged and at its phone, every
        // command answered.
        auto drained = [&] {
            bool all = true;
            for (std::size_t i = 0; i < ctx_.pool.size() && all; ++i)
                ctx_.pool.run_on(i, [&, i] {
                    for (std::size_t j = i; j < n && all; j += ctx_.pool.size()) {
                        auto const& h = households_[j];
                        std::uint64_t max_seq = 0;
                        for (auto s : h.seq_of)
                            max_seq = std::max(max_seq, s);
                        all = h.robot_ready && h.phone_ready && h.first_unacked == h.seq_of.size() && !h.in_flight &&
                              !h.resuming && (max_seq == 0 || h.last_seq == max_seq);
                    }
                });
            return all;
        };
        if (!wait_until(drained, o_.timeout_s, 100))
            out.note(fmt::format("not drained within {:.0f} s after the load", o_.timeout_s));
        ending_.store(true);

        // The accounting, household by household.
        std::uint64_t lost = 0, unacked = 0, mismatched = 0, broken = 0;
        for (std::size_t i = 0; i < ctx_.pool.size(); ++i)
            ctx_.pool.run_on(i, [&, i] {
                tick_timers_[i]->cancel();
                for (std::size_t j = i; j < n; j += ctx_.pool.size()) {
                    auto const& h = households_[j];
                    std::uint64_t acked = 0, min_seq = 0, max_seq = 0;
                    for (std::size_t k = 0; k < h.seq_of.size(); ++k) {
                        auto s = h.seq_of[k];
                        if (s == 0) {
                            ++unacked;
                            continue;
                        }
                        ++acked;
                        min_seq = min_seq == 0 ? s : std::min(min_seq, s);
                        max_seq = std::max(max_seq, s);
                        // The phone's event with this seq must be this one.
                        auto at_phone = s >= h.first_seq && s - h.first_seq < h.k_of_seq.size();
                        if (at_phone && h.k_of_seq[s - h.first_seq] != k) {
                            ++mismatched;
                            if (mismatched == 1)
                                note_failure(fmt::format("household {}: seq {} carried event {} at the phone, e{} at "
                                                         "the robot",
                                                         h.index, s, h.k_of_seq[s - h.first_seq], k));
                        }
                    }
                    // Every robot event carries an id, so the acknowledged ones hold every seq
                    // from the first to the last, and the phone must hold each, in order.
                    bool whole = acked == 0 || (max_seq - min_seq + 1 == acked && h.first_seq == min_seq &&
                                                h.last_seq == max_seq && h.ahead.empty());
                    if (!whole) {
                        lost += h.last_seq < max_seq ? max_seq - h.last_seq : 1;
                        if (++broken <= 3)
                            note_failure(fmt::format("household {}: {} events acknowledged with seqs {} to {}; the "
                                                     "phone holds {} to {} in order and {} past a gap",
                                                     h.index, acked, min_seq, max_seq, h.first_seq, h.last_seq,
                                                     h.ahead.size()));
                    }
                }
            });

        // Everything closed: relayd's descriptors must come back to the baseline.
        std::vector<std::shared_ptr<ws_peer>> peers;
        for (std::size_t i = 0; i < ctx_.pool.size(); ++i)
            ctx_.pool.run_on(i, [&, i] {
                for (std::size_t j = i; j < n; j += ctx_.pool.size()) {
                    peers.push_back(households_[j].robot);
                    peers.push_back(households_[j].phone);
                }
            });
        for (auto const& p : peers)
            p->post_close();
        wait_until([&] { return c_.held.load() <= 0; }, o_.timeout_s, 10);
        long fds_end = -1;
        bool fds_back = wait_until(
            [&] {
                fds_end = read_descriptor_count(pid);
                return fds_end <= fds_baseline;
            },
            30, 100);

        double minutes_run = double(now_ns() - run_start) / 60e9;
        out.figure("samples", "[elapsed s, VmRSS KB, descriptors, CPU %, connections] per sample", samples, "");
        out.figure("events_made", "robot events made", c_.events_made.load(), "");
        out.figure("events_acked", "... acknowledged by the relay", c_.events_acked.load(), "");
        out.figure("events_delivered", "... delivered to the phone in seq order", c_.events_delivered.load(), "");
        out.figure("events_resent", "events re-sent from a robot's outbox", c_.events_resent.load(), "");
        out.figure("events_lost", "acknowledged events missing at the phone", lost, "", "0", lost == 0 && mismatched == 0);
        out.figure("events_unacked", "events never acknowledged", unacked, "", "0", unacked == 0);
        out.figure("duplicates", "events that reached a phone twice", c_.duplicates.load(), "", "0",
                   c_.duplicates.load() == 0);
        out.figure("reordered", "events that reached a phone past a gap", c_.reordered.load(), "", "0",
                   c_.reordered.load() == 0);
        out.figure("ack_mismatches", "re-sent events acknowledged differently", c_.ack_mismatches.load(), "", "0",
                   c_.ack_mismatches.load() == 0);
        out.figure("incomplete_resumes", "resumes answered complete:false", c_.incomplete_resumes.load(), "", "0",
                   c_.incomplete_resumes.load() == 0);
        out.figure("commands_sent", "commands sent", c_.commands_sent.load(), "");
        out.figure("commands_ok", "... answered command_result ok", c_.commands_ok.load(), "");
        out.figure("commands_offline", "... answered DEVICE_OFFLINE (robot being replaced; sent again)",
                   c_.commands_offline.load(), "");
        out.figure("commands_lost", "commands without an answer, or answered otherwise",
                   c_.commands_lost.load() + c_.commands_failed.load(), "", "0",
                   c_.commands_lost.load() + c_.commands_failed.load() == 0);
        out.figure("replaced", "connections closed and reconnected", c_.replaced.load(), "");
        out.figure("replaced_per_minute", "... per minute", double(c_.replaced.load()) / minutes_run, "");
        out.figure("unexpected_drops", "connections the relay ended", c_.unexpected_drops.load() + c_.connect_failures.load(),
                   "", "0", c_.unexpected_drops.load() + c_.connect_failures.load() == 0);
        if (rss_after_warmup) {
            double growth = 100.0 * double(rss_max_after_warmup - *rss_after_warmup) / double(*rss_after_warmup);
            out.figure("rss_after_warmup_kb", fmt::format("relayd VmRSS at minute {:.0f}", rss_warmup_minutes),
                       *rss_after_warmup, "KB");
            out.figure("rss_max_after_warmup_kb", "... highest after it", rss_max_after_warmup, "KB");
            out.figure("rss_growth_percent", "... growth", growth, "%", "<= 10 %", growth <= rss_growth_limit_percent);
            if (growth > rss_growth_limit_percent)
                note_failure(fmt::format("relayd VmRSS grew {:.1f} % after minute {:.0f} ({} KB to {} KB)", growth,
                                         rss_warmup_minutes, *rss_after_warmup, rss_max_after_warmup));
        } else {
            out.note(fmt::format("the RSS rule needs a run longer than {:.0f} minutes; not applied",
                                 rss_warmup_minutes));
        }
        out.figure("fds_end", "relayd descriptors after every connection closed", fds_end, "",
                   fmt::format("<= {} (baseline)", fds_baseline), fds_back);
        if (!fds_back)
            note_failure(fmt::format("descriptor leak: {} open after every connection closed, baseline {}", fds_end,
                                     fds_baseline));
        out.figure("fds_over_limit_samples", "samples with descriptors beyond connections held", fds_over, "", "0",
                   fds_over == 0);
        out.figure("relay_cpu_s", "relayd CPU over the run", read_cpu_seconds(pid), "s");
        out.figure("bench_cpu_s", "relay-bench's own CPU", own_cpu_seconds(), "s");
        bool lossless = lost == 0 && mismatched == 0 && unacked == 0 && c_.duplicates.load() == 0 &&
                        c_.reordered.load() == 0 && c_.ack_mismatches.load() == 0 &&
                        c_.incomplete_resumes.load() == 0 && c_.commands_lost.load() == 0 &&
                        c_.commands_failed.load() == 0;
        if (!lossless || !fds_back || fds_over > 0 || c_.unexpected_drops.load() + c_.connect_failures.load() > 0 ||
            (rss_after_warmup &&
             100.0 * double(rss_max_after_warmup - *rss_after_warmup) / double(*rss_after_warmup) > rss_growth_limit_percent))
            status = 1;
    }
    ending_.store(true);
    {
        // Whatever was noted as a failure fails the run, whichever check noticed it.
        std::lock_guard lock(failure_mutex_);
        for (auto const& f : failures_)
            out.note("FAIL: " + f);
        if (!failures_.empty())
            status = 1;
    }
    out.figure("verdict", "soak", status == 0 ? "pass" : "FAIL", "");
    // Handlers still queued may refer to this scenario.
    for (std::size_t i = 0; i < ctx_.pool.size(); ++i)
        ctx_.pool.run_on(i, [&, i] {
            if (i < tick_timers_.size())
                tick_timers_[i]->cancel();
            for (std::size_t j = i; j < n; j += ctx_.pool.size()) {
                if (households_[j].robot)
                    households_[j].robot->close();
                if (households_[j].phone)
                    households_[j].phone->close();
            }
        });
    sleep_seconds(0.5);
    ctx_.pool.barrier();
    return status;
}

} // namespace

int run_soak(bench_context& ctx)
{
    return soak(ctx).run();
}

} // namespace relay::bench
