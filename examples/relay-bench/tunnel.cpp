// tunnel: what the REST tunnel costs against calling the robot's API directly. A stand-in for
// the robot's API (local_api) answers GET /status on 127.0.0.1; a robot connected with the robot
// SDK answers every http_request with the SDK's forwarder (forward_to_local_api, a new
// connection to the local API per request) on --robot-workers threads, as robot-agent does. The
// same load, --concurrency keep-alive HTTP clients with one request in flight each, is run
// directly against the local API and then through relayd's GET /api/devices/{id}/rest/status;
// between them the forwarder is called alone (the robot's share of the tunnel's cost), and last
// the requests go as http_request messages on one /ws/app connection.
#include "http_load.hpp"
#include "latency.hpp"
#include "local_api.hpp"
#include "scenario.hpp"

#include <relay/robot/client.hpp>
#include <relay/robot/local_api.hpp> // the robot SDK's REST-tunnel forwarder, as robot-agent uses it

#include <boost/asio/thread_pool.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace relay::bench {
namespace {

/** What the overhead figures compare between phases. */
struct phase_figures {
    double per_s = 0;
    std::uint64_t answered = 0;
    latency_summary latency;
};

class tunnel {
public:
    explicit tunnel(bench_context& ctx) : ctx_(ctx), o_(ctx.opts) {}
    int run();

private:
    template <class Load>
    phase_figures measure(std::string const& key, std::string const& what, Load load);
    http_load_result forwarder_load(robot::http_target const& api);
    http_load_result socket_load();
    void send_requests();
    void on_app_message(std::string_view text);

    bench_context& ctx_;
    bench_options const& o_;
    std::string device_id_;
    std::shared_ptr<ws_peer> app_;
    peer_counts app_counts_;

    // Socket phase: the app's thread only, until `socket_done_` is seen by the coordinator.
    std::int64_t measure_from_ = 0, stop_at_ = 0;
    std::vector<std::int64_t> sent_at_;
    unsigned in_flight_ = 0;
    http_load_result socket_;
    std::atomic<bool> socket_done_{false};
};

/** Runs one phase, reports its rate, latency, errors and CPU under `key`, and returns it. */
template <class Load>
phase_figures tunnel::measure(std::string const& key, std::string const& what, Load load)
{
    auto relay_cpu0 = read_cpu_seconds(ctx_.relay.pid());
    auto bench_cpu0 = own_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    http_load_result r = load();
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto relay_cpu = read_cpu_seconds(ctx_.relay.pid()) - relay_cpu0;
    auto bench_cpu = own_cpu_seconds() - bench_cpu0;

    auto& out = ctx_.out;
    auto lat = summarize(r.latency_ns);
    auto per_s = r.seconds > 0 ? double(r.answered) / r.seconds : 0.0;
    out.figure(key + "_per_s", what + ": requests/s", per_s, "/s");
    out.figure(key + "_p50_us", what + ": latency p50", lat.p50_us, "us");
    out.figure(key + "_p90_us", what + ": latency p90", lat.p90_us, "us");
    out.figure(key + "_p99_us", what + ": latency p99", lat.p99_us, "us");
    out.figure(key + "_max_us", what + ": latency max", lat.max_us, "us");
    out.figure(key + "_errors", what + ": errors", r.errors, "");
    // CPU over the whole phase, warm-up included: the load is the same throughout.
    if (relay_cpu >= 0)
        out.figure(key + "_relay_cpu_percent", what + ": relayd CPU", 100 * relay_cpu / seconds, "%");
    out.figure(key + "_bench_cpu_percent", what + ": relay-bench CPU (incl. API, robot)", 100 * bench_cpu / seconds, "%");
    if (r.errors > 0)
        out.note(what + ": first error: " + r.first_error);
    if (r.reconnects > 0)
        out.note(fmt::format("{}: {} keep-alive connections were reopened", what, r.reconnects));
    return {per_s, r.answered, lat};
}

void tunnel::send_requests()
{
    while (in_flight_ < o_.concurrency && now_ns() < stop_at_) {
        ++in_flight_;
        app_->send(fmt::format(R"({{"type":"http_request","device_id":"{}","id":"h{}","method":"GET","path":"/status"}})",
                               device_id_, sent_at_.size()));
        sent_at_.push_back(now_ns());
    }
    if (in_flight_ == 0)
        socket_done_ = true;
}

void tunnel::on_app_message(std::string_view text)
{
    auto done = now_ns();
    bool response = text.find(R"("type":"http_response")") != std::string_view::npos;
    if (!response && text.find(R"("type":"error")") == std::string_view::npos)
        return; // acks, presence
    auto n = id_number(string_after(text, response ? R"("id":")" : R"("ref":")"), 'h');
    if (n < 0 || std::size_t(n) >= sent_at_.size())
        return;
    --in_flight_;
    if (done >= measure_from_ && done < stop_at_) {
        if (response && text.find(R"("status":200)") != std::string_view::npos) {
            ++socket_.answered;
            socket_.latency_ns.push_back(done - sent_at_[n]);
        } else {
            socket_.record_error(std::string(text.substr(0, 200)));
        }
    }
    send_requests();
}

/** The socket phase: --concurrency http_request messages in flight on the app's connection. */
http_load_result tunnel::socket_load()
{
    ctx_.pool.run_on(app_->context_index(), [&] {
        measure_from_ = now_ns() + static_cast<std::int64_t>(o_.warmup_s * 1e9);
        stop_at_ = measure_from_ + static_cast<std::int64_t>(o_.duration_s * 1e9);
        send_requests();
    });
    // Requests still in flight at the end get their answer or the relay's DEVICE_TIMEOUT.
    bool finished = wait_until([&] { return socket_done_.load(); }, o_.warmup_s + o_.duration_s + o_.timeout_s, 5);
    http_load_result r;
    ctx_.pool.run_on(app_->context_index(), [&] {
        stop_at_ = 0; // stops sending, should the wait have timed out
        r = std::move(socket_);
    });
    r.seconds = o_.duration_s;
    if (!finished)
        r.record_error("requests still unanswered at the timeout");
    return r;
}

/** The forwarder alone: as many threads as forward at once in the relay phase (--concurrency,
 * at most --robot-workers) call forward_to_local_api back to back, with no relay in between. */
http_load_result tunnel::forwarder_load(robot::http_target const& api)
{
    protocol::robot_http_request req;
    req.id = "f";
    req.method = "GET";
    req.path = "/status";
    auto const measure_from = now_ns() + static_cast<std::int64_t>(o_.warmup_s * 1e9);
    auto const stop_at = measure_from + static_cast<std::int64_t>(o_.duration_s * 1e9);
    std::vector<http_load_result> parts(std::min(o_.concurrency, o_.robot_workers));
    {
        std::vector<std::jthread> threads;
        for (auto& part : parts)
            threads.emplace_back([&] {
                while (now_ns() < stop_at) {
                    auto sent = now_ns();
                    auto res = robot::forward_to_local_api(api, req);
                    auto done = now_ns();
                    if (done < measure_from || done >= stop_at)
                        continue;
                    if (res.status == 200) {
                        ++part.answered;
                        part.latency_ns.push_back(done - sent);
                    } else {
                        part.record_error(fmt::format("{} from the forwarder", res.status));
                    }
                }
            });
    }
    http_load_result r;
    r.seconds = o_.duration_s;
    for (auto const& part : parts)
        r.merge(part);
    return r;
}

int tunnel::run()
{
    auto& out = ctx_.out;
    local_api api(o_.payload);
    out.config("concurrency", o_.concurrency);
    out.config("robot_workers", o_.robot_workers);
    out.config("status_body_bytes", api.status_bytes());
    out.config("duration_s", o_.duration_s);
    out.config("warmup_s", o_.warmup_s);
    out.config("robot", "robot-sdk client, robot-agent's forward_to_local_api (one local connection per request)");

    auto accounts = ctx_.setup.create_accounts(1);
    auto devices = ctx_.setup.create_devices(accounts, {0});
    device_id_ = devices[0].device_id;

    // The robot, as robot-agent runs it: callbacks hand each request to a worker, which calls
    // the local API and answers. The workers are declared first, so the client goes first.
    net::thread_pool workers(o_.robot_workers);
    robot::client_options ro;
    ro.url = fmt::format("ws://{}:{}", ctx_.relay.host(), ctx_.relay.port());
    ro.device_id = device_id_;
    ro.device_secret = devices[0].secret;
    ro.capabilities = {{"rest_api", true}};
    // The SDK paces its sends below the contract's robot rate (150/s); the spawned relay's is
    // raised, and so is this, or every answer would wait for the pacer.
    ro.send_rate = 1e6;
    ro.send_burst = 1e6;
    robot::client robot(ro);
    robot::http_target const api_target{"127.0.0.1", api.port(), ""};
    robot.on_http_request([&](protocol::robot_http_request const& req, robot::http_reply reply) {
        net::post(workers, [&api_target, req, reply]() mutable {
            reply.send(robot::forward_to_local_api(api_target, req));
        });
    });
    robot.start();

    app_ = make_peer(ctx_, 0, peer_identity{false, accounts[0].access_token, {}, {}},
                     counted_handlers(app_counts_, [this](ws_peer&, std::string_view t) { on_app_message(t); }));
    std::string why;
    if (!wait_until([&] { return robot.connected(); }, o_.timeout_s, 5))
        why = "the robot did not connect";
    else
        connect_all(ctx_, {app_}, app_counts_, 1, why);
    if (!why.empty()) {
        out.note("setup failed: " + why);
        robot.stop();
        ctx_.pool.barrier();
        return 1;
    }
    sleep_seconds(0.2);

    http_load_plan plan{tcp::endpoint(net::ip::address_v4::loopback(), api.port()), "/status", "", o_.concurrency,
                        o_.warmup_s, o_.duration_s, o_.timeout_s};
    auto direct = measure("direct", "direct", [&] { return run_http_load(ctx_.pool, plan); });
    auto forwarder = measure("forwarder", "forwarder alone", [&] { return forwarder_load(api_target); });
    auto served_before_relay = api.requests();
    plan.server = ctx_.endpoint->relay;
    plan.target = "/api/devices/" + device_id_ + "/rest/status";
    plan.bearer = accounts[0].access_token;
    auto relay = measure("relay", "relay HTTP", [&] { return run_http_load(ctx_.pool, plan); });
    auto served_through_relay = api.requests() - served_before_relay;
    auto socket = measure("socket", "relay /ws/app", [&] { return socket_load(); });

    auto ratio = [&](phase_figures const& f) { return direct.per_s > 0 ? f.per_s / direct.per_s : 0.0; };
    out.figure("relay_rate_ratio", "relay HTTP requests/s as a share of direct", ratio(relay), "");
    out.figure("relay_added_p50_us", "relay HTTP: p50 added to direct", relay.latency.p50_us - direct.latency.p50_us, "us");
    out.figure("relay_added_p99_us", "relay HTTP: p99 added to direct", relay.latency.p99_us - direct.latency.p99_us, "us");
    out.figure("relay_over_forwarder_p50_us", "relay HTTP: p50 added to the forwarder alone",
               relay.latency.p50_us - forwarder.latency.p50_us, "us");
    out.figure("socket_rate_ratio", "relay /ws/app requests/s as a share of direct", ratio(socket), "");
    out.figure("socket_added_p50_us", "relay /ws/app: p50 added to direct", socket.latency.p50_us - direct.latency.p50_us, "us");
    out.figure("local_api_requests_via_relay", "local API requests in the relay HTTP phase", served_through_relay, "");

    robot.stop();
    workers.join();
    close_all(ctx_, {app_}, app_counts_);
    ctx_.pool.barrier();
    // A phase that measured nothing has measured nothing about the tunnel.
    return direct.answered > 0 && relay.answered > 0 && socket.answered > 0 ? 0 : 1;
}

} // namespace

int run_tunnel(bench_context& ctx)
{
    tunnel t(ctx);
    return t.run();
}

} // namespace relay::bench
