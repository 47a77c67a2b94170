// api: the HTTP API as a population of apps uses it, the load the store carries. --concurrency
// clients, each a user of its own on one keep-alive connection with one request in flight, run
// a fixed mix of operations back to back (api_mix below): register, login, refresh, device
// list, device read, device add and device delete. Reports requests/s overall and per
// operation, latency percentiles per operation, errors and relayd's CPU. Password hashing is
// kept cheap (RELAY_SCRYPT_LN=10 on a spawned relay) so that the store, not scrypt, is measured.
#include "http_load.hpp"
#include "keepalive_client.hpp"
#include "latency.hpp"
#include "scenario.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <array>
#include <deque>
#include <random>

namespace relay::bench {
namespace http = beast::http;
namespace {

enum class api_op { register_user, login, refresh, device_list, device_get, device_add, device_delete };
constexpr std::size_t op_count = 7;

struct op_share {
    api_op op;
    char const* name;
    unsigned percent; ///< share of all requests
};

/** The mix, in percent of requests: mostly reads, as apps poll their device list; a login or a
 * refresh for every few reads (a token lasts 15 minutes by default); adds and deletes balanced
 * so each user's device count stays near its start. */
constexpr std::array<op_share, op_count> api_mix{{
    {api_op::register_user, "register", 5},
    {api_op::login, "login", 10},
    {api_op::refresh, "refresh", 15},
    {api_op::device_list, "device_list", 35},
    {api_op::device_get, "device_get", 15},
    {api_op::device_add, "device_add", 10},
    {api_op::device_delete, "device_delete", 10},
}};

/** Devices each client's user owns before the measured run. */
constexpr unsigned initial_devices = 3;

constexpr std::string_view password = "correct horse battery staple";

/** One operation's tally of one client (then of all). */
struct op_tally {
    std::vector<std::int64_t> latency_ns;
    std::uint64_t errors = 0;
    std::string first_error;

    void merge(op_tally const& part)
    {
        latency_ns.insert(latency_ns.end(), part.latency_ns.begin(), part.latency_ns.end());
        if (errors == 0)
            first_error = part.first_error;
        errors += part.errors;
    }
};

struct client_tally {
    std::array<op_tally, op_count> ops;
    std::uint64_t reconnects = 0;
};

/** What one client starts with: its user, logged in, and the user's devices. */
struct client_start {
    std::string email;
    std::string access_token;
    std::string refresh_token;
    std::vector<std::string> devices;
};

struct api_plan {
    tcp::endpoint server;
    std::string run_tag;
    std::int64_t measure_from = 0;
    std::int64_t stop_at = 0;
    double timeout_s = 60;
};

/** The operation a draw in [0, 100) picks. */
api_op pick(unsigned draw)
{
    for (auto const& s : api_mix) {
        if (draw < s.percent)
            return s.op;
        draw -= s.percent;
    }
    return api_op::device_list;
}

/** What one client knows and does, as an app would: its user's tokens and devices, which
 * request comes next, and what an answer changes. Plain code; the coroutine only sends. */
class api_user {
public:
    api_user(api_plan const& plan, std::size_t index, client_start me, std::string host)
        : plan_(plan), index_(index), me_(std::move(me)), host_(std::move(host)),
          rng_(static_cast<std::uint32_t>(index + 1)),
          creds_(boost::json::serialize(boost::json::object{{"email", me_.email}, {"password", password}}))
    {
    }

    /** Draws the next operation and builds its request. */
    keepalive_client::request const& next()
    {
        op_ = need_login_ ? api_op::login : pick(percent_(rng_));
        if (op_ == api_op::device_delete && added_.empty())
            op_ = api_op::device_add;
        req_ = keepalive_client::request{http::verb::get, "/api/devices", 11};
        expected_ = 200;
        switch (op_) {
        case api_op::register_user:
            post("/api/auth/register",
                 boost::json::serialize(boost::json::object{
                     {"email", fmt::format("bench-{}-c{}-r{}@example.com", plan_.run_tag, index_, registered_++)},
                     {"password", password}}));
            expected_ = 201;
            break;
        case api_op::login:
            post("/api/auth/login", creds_);
            break;
        case api_op::refresh:
            post("/api/auth/refresh", boost::json::serialize(boost::json::object{{"refresh_token", me_.refresh_token}}));
            break;
        case api_op::device_list:
            break;
        case api_op::device_get:
            req_.target("/api/devices/" + me_.devices[rng_() % me_.devices.size()]);
            break;
        case api_op::device_add:
            post("/api/devices",
                 boost::json::serialize(boost::json::object{{"name", fmt::format("bench robot c{}-{}", index_, made_++)}}));
            expected_ = 201;
            break;
        case api_op::device_delete:
            req_.method(http::verb::delete_);
            req_.target("/api/devices/" + added_.front());
            expected_ = 204;
            break;
        }
        req_.set(http::field::host, host_);
        if (op_ != api_op::register_user && op_ != api_op::login && op_ != api_op::refresh)
            req_.set(http::field::authorization, "Bearer " + me_.access_token);
        req_.keep_alive(true);
        req_.prepare_payload();
        return req_;
    }

    /** Takes the answer to the last request (null when none came: `why` says what failed) and
     * counts it when it completed at `done`, inside the measured interval. */
    void record(keepalive_client::response const* res, std::string const& why, std::int64_t sent, std::int64_t done,
                client_tally& tally)
    {
        bool ok = res && res->result_int() == expected_;
        if (ok) {
            // Keep the client's state as an app would: new tokens, its new and deleted devices.
            if (op_ == api_op::login || op_ == api_op::refresh) {
                me_.access_token = string_after(res->body(), R"("access_token":")");
                me_.refresh_token = string_after(res->body(), R"("refresh_token":")");
                need_login_ = false;
            } else if (op_ == api_op::device_add) {
                added_.emplace_back(string_after(res->body(), R"("device_id":")"));
            } else if (op_ == api_op::device_delete) {
                added_.pop_front();
            }
        } else if (res && res->result_int() == 401) {
            // A failed refresh may have revoked the login; start a new one, as an app would.
            need_login_ = true;
        }
        if (done < plan_.measure_from || done >= plan_.stop_at)
            return;
        auto& t = tally.ops[static_cast<std::size_t>(op_)];
        if (ok)
            t.latency_ns.push_back(done - sent);
        else if (t.errors++ == 0)
            t.first_error = res ? fmt::format("{} {}", res->result_int(), res->body().substr(0, 200)) : why;
    }

private:
    void post(char const* target, std::string body)
    {
        req_.method(http::verb::post);
        req_.target(target);
        req_.set(http::field::content_type, "application/json");
        req_.body() = std::move(body);
    }

    api_plan const& plan_;
    std::size_t index_;
    client_start me_;
    std::string host_;
    std::mt19937 rng_;
    std::uniform_int_distribution<unsigned> percent_{0, 99};
    std::string creds_;
    std::deque<std::string> added_; ///< devices this client made; deleted oldest first
    std::uint64_t registered_ = 0, made_ = 0;
    bool need_login_ = false;
    api_op op_ = api_op::device_list;
    unsigned expected_ = 200;
    keepalive_client::request req_;
};

/** One client: its own user, the mix drawn from a generator seeded with its index, so runs
 * offer the same sequence. */
net::awaitable<void> drive(std::shared_ptr<api_plan const> plan, std::size_t index, client_start me,
                           std::shared_ptr<client_tally> tally)
{
    keepalive_client client(co_await net::this_coro::executor, plan->server, plan->timeout_s);
    api_user user(*plan, index, std::move(me), client.host());
    keepalive_client::response res;
    std::string why;
    while (now_ns() < plan->stop_at) {
        auto const& req = user.next();
        auto sent = now_ns();
        bool answered = co_await client.exchange(req, res, why);
        user.record(answered ? &res : nullptr, why, sent, now_ns(), *tally);
    }
    tally->reconnects = client.reconnects();
    client.shutdown();
}

/** Each client's user, logged in, with initial_devices devices (setup; not measured). */
std::vector<client_start> set_up_clients(bench_context& ctx)
{
    auto n = ctx.opts.concurrency;
    auto accounts = ctx.setup.create_accounts(n);
    std::vector<std::size_t> owners;
    for (std::size_t i = 0; i < std::size_t(n) * initial_devices; ++i)
        owners.push_back(i % n);
    auto devices = ctx.setup.create_devices(accounts, owners);
    std::vector<client_start> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i].email = accounts[i].email;
        out[i].access_token = accounts[i].access_token;
        out[i].refresh_token = accounts[i].refresh_token;
    }
    for (std::size_t i = 0; i < devices.size(); ++i)
        out[owners[i]].devices.push_back(devices[i].device_id);
    return out;
}

} // namespace

int run_api(bench_context& ctx)
{
    auto const& o = ctx.opts;
    auto& out = ctx.out;
    out.config("concurrency", o.concurrency);
    out.config("duration_s", o.duration_s);
    out.config("warmup_s", o.warmup_s);
    out.config("initial_devices_per_user", initial_devices);
    boost::json::object mix;
    for (auto const& s : api_mix)
        mix[s.name] = s.percent;
    out.config("mix_percent", mix);

    auto starts = set_up_clients(ctx);

    auto plan = std::make_shared<api_plan>();
    plan->server = ctx.endpoint->relay;
    plan->run_tag = ctx.setup.run_tag;
    plan->timeout_s = o.timeout_s;
    plan->measure_from = now_ns() + static_cast<std::int64_t>(o.warmup_s * 1e9);
    plan->stop_at = plan->measure_from + static_cast<std::int64_t>(o.duration_s * 1e9);

    auto relay_cpu0 = read_cpu_seconds(ctx.relay.pid());
    auto bench_cpu0 = own_cpu_seconds();
    auto database_cpu0 = read_tree_cpu_seconds(o.target.database_pid);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<client_tally>> tallies;
    for (std::size_t i = 0; i < starts.size(); ++i)
        tallies.push_back(std::make_shared<client_tally>());
    bool all_stopped = run_clients(
        ctx.pool, starts.size(), [&](std::size_t i) { return drive(plan, i, std::move(starts[i]), tallies[i]); },
        "api client", o.warmup_s + o.duration_s + o.timeout_s + 5);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto relay_cpu = read_cpu_seconds(ctx.relay.pid()) - relay_cpu0;
    auto bench_cpu = own_cpu_seconds() - bench_cpu0;
    auto database_cpu = read_tree_cpu_seconds(o.target.database_pid) - database_cpu0;
    if (!all_stopped) {
        // A client still in a call: its tally is not ours to read.
        out.note("not every client stopped before the timeout");
        return 1;
    }

    client_tally all;
    for (auto const& t : tallies) {
        for (std::size_t k = 0; k < op_count; ++k)
            all.ops[k].merge(t->ops[k]);
        all.reconnects += t->reconnects;
    }
    std::uint64_t answered = 0, errors = 0;
    for (auto const& t : all.ops) {
        answered += t.latency_ns.size();
        errors += t.errors;
    }
    out.figure("requests_per_s", "all operations: requests/s", double(answered) / o.duration_s, "/s");
    out.figure("errors", "all operations: errors", errors, "");
    for (std::size_t k = 0; k < op_count; ++k) {
        auto& t = all.ops[k];
        std::string name = api_mix[k].name;
        auto lat = summarize(t.latency_ns);
        out.figure(name + "_per_s", name + ": requests/s", double(lat.count) / o.duration_s, "/s");
        out.figure(name + "_p50_ms", name + ": latency p50", lat.p50_us / 1000, "ms");
        out.figure(name + "_p99_ms", name + ": latency p99", lat.p99_us / 1000, "ms");
        out.figure(name + "_errors", name + ": errors", t.errors, "");
        if (t.errors > 0)
            out.note(name + ": first error: " + t.first_error);
    }
    // CPU over the whole run, warm-up included: the load is the same throughout.
    if (relay_cpu >= 0)
        out.figure("relay_cpu_percent", "relayd CPU", 100 * relay_cpu / seconds, "%");
    out.figure("bench_cpu_percent", "relay-bench CPU", 100 * bench_cpu / seconds, "%");
    if (o.target.database_pid > 0 && database_cpu0 >= 0)
        out.figure("database_cpu_percent", "database server CPU", 100 * database_cpu / seconds, "%");
    if (all.reconnects > 0)
        out.note(fmt::format("{} keep-alive connections were reopened", all.reconnects));
    return answered > 0 && errors == 0 ? 0 : 1;
}

} // namespace relay::bench
