// rtt: command round trips app -> relay -> robot -> relay -> app. The robot answers each
// command with command_result at once; the app keeps --concurrency commands in flight and
// times each from its send to the result (and to the relay's ack on the way).
#include "latency.hpp"
#include "scenario.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <array>
#include <thread>

namespace relay::bench {
namespace {

/**
 * The machine's floor for one hop: a 64-byte TCP echo over loopback between two of the bench's
 * threads, no relay and no WebSocket. A command round trip makes two such hops (app <-> relay,
 * relay <-> robot), so twice this is what no relay can beat here; on a virtual machine it is
 * mostly the cost of waking a thread on another, idle vCPU.
 */
latency_summary loopback_echo(std::size_t count)
{
    net::io_context ctx;
    tcp::acceptor acceptor(ctx, {net::ip::make_address_v4("127.0.0.1"), 0});
    tcp::socket client(ctx), server(ctx);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    client.set_option(tcp::no_delay(true));
    server.set_option(tcp::no_delay(true));
    std::thread echo([&] {
        std::array<char, 64> b{};
        boost::system::error_code ec;
        while (!ec && net::read(server, net::buffer(b), ec) == b.size())
            net::write(server, net::buffer(b), ec);
    });
    std::vector<std::int64_t> samples;
    samples.reserve(count);
    std::array<char, 64> b{};
    boost::system::error_code ec;
    for (std::size_t i = 0; i < count + count / 20 && !ec; ++i) {
        auto t = now_ns();
        net::write(client, net::buffer(b), ec);
        net::read(client, net::buffer(b), ec);
        if (i >= count / 20)
            samples.push_back(now_ns() - t);
    }
    client.shutdown(tcp::socket::shutdown_both, ec);
    echo.join();
    return summarize(samples);
}

class rtt {
public:
    explicit rtt(bench_context& ctx) : ctx_(ctx), o_(ctx.opts) {}
    int run();

private:
    void on_app_message(std::string_view text);
    void send_next();

    bench_context& ctx_;
    bench_options const& o_;
    std::string device_id_;
    std::shared_ptr<ws_peer> app_, robot_;
    peer_counts app_counts_, robot_counts_;

    // The app's thread only, until `done_` is seen by the coordinator.
    std::size_t warmup_ = 0;
    std::size_t total_ = 0;
    std::size_t issued_ = 0;
    std::size_t in_flight_ = 0;
    std::vector<std::int64_t> sent_at_;
    std::vector<std::int64_t> rtt_ns_, ack_ns_;
    std::uint64_t errors_ = 0;
    std::string first_error_;
    std::atomic<std::size_t> completed_{0};
    std::atomic<bool> probe_ok_{false};
    std::size_t probes_sent_ = 0; ///< the app's thread
};

void rtt::on_app_message(std::string_view text)
{
    auto now = now_ns();
    // Probes before the measurement: their results and refusals are not counted.
    if (string_after(text, R"("id":")").starts_with("p") || string_after(text, R"("ref":")").starts_with("p")) {
        if (text.find(R"("type":"command_result")") != std::string_view::npos)
            probe_ok_.store(true);
        return;
    }
    if (text.find(R"("type":"command_result")") != std::string_view::npos) {
        auto n = id_number(string_after(text, R"("id":")"), 'c');
        if (n < 0 || std::size_t(n) >= issued_)
            return;
        if (std::size_t(n) >= warmup_)
            rtt_ns_.push_back(now - sent_at_[n]);
        --in_flight_;
        completed_.fetch_add(1);
        send_next();
    } else if (text.find(R"("type":"ack")") != std::string_view::npos) {
        auto n = id_number(string_after(text, R"("ref":")"), 'c');
        if (n >= 0 && std::size_t(n) >= warmup_ && std::size_t(n) < issued_)
            ack_ns_.push_back(now - sent_at_[n]);
    } else if (text.find(R"("type":"error")") != std::string_view::npos) {
        if (errors_++ == 0)
            first_error_ = std::string(text.substr(0, 200));
        // A refused command gets no result; count it as done so the run still ends.
        auto n = id_number(string_after(text, R"("ref":")"), 'c');
        if (n >= 0 && std::size_t(n) < issued_) {
            --in_flight_;
            completed_.fetch_add(1);
            send_next();
        }
    }
}

void rtt::send_next()
{
    while (in_flight_ < o_.concurrency && issued_ < total_) {
        auto n = issued_++;
        ++in_flight_;
        sent_at_[n] = now_ns();
        app_->send(fmt::format(R"({{"type":"command","device_id":"{}","id":"c{}","command":"bench"}})", device_id_, n));
    }
}

int rtt::run()
{
    auto& out = ctx_.out;
    warmup_ = std::max<std::size_t>(100, o_.count / 20);
    total_ = warmup_ + o_.count;
    out.config("round_trips", o_.count);
    out.config("warmup_round_trips", warmup_);
    out.config("concurrency", o_.concurrency);
    sent_at_.resize(total_);
    rtt_ns_.reserve(o_.count);
    ack_ns_.reserve(o_.count);

    // On several nodes: the app on the first, the robot on the second (a cross-node round trip).
    auto pair = make_app_robot_pair(ctx_, app_counts_, [this](ws_peer&, std::string_view t) { on_app_message(t); },
                                    robot_counts_, ctx_.nodes.size() > 1 ? 1 : 0);
    device_id_ = pair.device_id;
    app_ = pair.app;
    robot_ = pair.robot;
    std::string why;
    if (!connect_all(ctx_, {app_}, app_counts_, 1, why) || !connect_all(ctx_, {robot_}, robot_counts_, 1, why)) {
        out.note("setup failed: " + why);
        ctx_.pool.barrier();
        return 1;
    }
    sleep_seconds(0.2);
    // The app's node learns where the robot is through Redis: measure once a probe command
    // got its result (at once on one node).
    bool probed = wait_until(
        [&] {
            net::post(app_->executor(), [this] {
                app_->send(fmt::format(R"({{"type":"command","device_id":"{}","id":"p{}","command":"bench"}})", device_id_,
                                       probes_sent_++));
            });
            return wait_until([&] { return probe_ok_.load(); }, 0.05);
        },
        o_.timeout_s, 0);
    if (!probed) {
        out.note("setup failed: no probe command reached the robot");
        close_all(ctx_, {robot_}, robot_counts_);
        close_all(ctx_, {app_}, app_counts_);
        ctx_.pool.barrier();
        return 1;
    }
    out.config("app_node", 0);
    out.config("robot_node", ctx_.nodes.size() > 1 ? 1 : 0);

    auto relay_cpu0 = nodes_cpu_seconds(ctx_);
    auto t0 = std::chrono::steady_clock::now();
    net::post(app_->executor(), [this] { send_next(); });
    bool finished = wait_until([&] { return completed_.load() == total_; }, o_.timeout_s);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto relay_cpu = relay_cpu0 < 0 ? -1.0 : nodes_cpu_seconds(ctx_) - relay_cpu0;

    int status = 0;
    latency_summary round_trip, ack;
    // Stop the app thread from touching the samples before reading them.
    ctx_.pool.run_on(app_->context_index(), [&] {
        total_ = issued_;
        round_trip = summarize(rtt_ns_);
        ack = summarize(ack_ns_);
    });
    out.figure("round_trips_per_s", "round trips/s (incl. warm-up)", double(completed_.load()) / seconds, "/s");
    out.figure("rtt_samples", "round trips measured", round_trip.count, "");
    // A run that measured nothing (or did not finish) has not met anything.
    out.figure("rtt_p50_us", "round trip p50", round_trip.p50_us, "us", "<= 100 us",
               finished && round_trip.count > 0 && round_trip.p50_us <= 100);
    out.figure("rtt_p90_us", "round trip p90", round_trip.p90_us, "us");
    out.figure("rtt_p99_us", "round trip p99", round_trip.p99_us, "us");
    out.figure("rtt_p999_us", "round trip p99.9", round_trip.p999_us, "us");
    out.figure("rtt_max_us", "round trip max", round_trip.max_us, "us");
    out.figure("ack_p50_us", "ack (app -> relay -> app) p50", ack.p50_us, "us");
    out.figure("ack_p99_us", "ack p99", ack.p99_us, "us");
    // Measured after the relay's figures, on the same machine, for comparison: the floor.
    auto floor = loopback_echo(o_.count);
    out.figure("loopback_echo_p50_us", "loopback TCP echo, no relay, p50", floor.p50_us, "us");
    out.figure("loopback_echo_p99_us", "loopback TCP echo p99", floor.p99_us, "us");
    if (relay_cpu >= 0)
        out.figure("relay_cpu_percent", "relayd CPU", 100 * relay_cpu / seconds, "%");
    std::uint64_t errors = 0;
    ctx_.pool.run_on(app_->context_index(), [&] { errors = errors_; });
    out.figure("errors", "error messages at the app", errors, "");
    if (errors > 0)
        out.note("first error: " + first_error_);
    if (!finished) {
        out.note("not every round trip completed before the timeout");
        status = 1;
    }
    close_all(ctx_, {robot_}, robot_counts_);
    close_all(ctx_, {app_}, app_counts_);
    ctx_.pool.barrier();
    return status;
}

} // namespace

int run_rtt(bench_context& ctx)
{
    rtt r(ctx);
    return r.run();
}

} // namespace relay::bench
