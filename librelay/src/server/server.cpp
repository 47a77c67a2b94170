#include <relay/server/server.hpp>

#include "server/audit.hpp"
#include "server/http/http_session.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"
#include "server/cluster_sync.hpp"
#include "server/services.hpp"
#include "server/turn_probe.hpp"
#include "server/webrtc.hpp"
#include "server/ws/write_batch.hpp"
#include "server/ws/ws_connection.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>

#include <relay/routing/in_process_broker.hpp>
#include <relay/store/timed_store.hpp>
#include <relay/turn/none.hpp>

#include <functional>
#include <thread>

namespace relay::server {

struct server::impl {
    impl(server_options o, parts p)
        : options(std::move(o)),
          given(with_default_telemetry(std::move(p))),
          log(*given.log),
          metrics(*given.metrics)
    {
    }

    /** The logger and the registry are needed from the start; the other defaults wait for start(). */
    static parts with_default_telemetry(parts p)
    {
        if (!p.log)
            p.log = std::make_shared<telemetry::logger>();
        if (!p.metrics)
            p.metrics = std::make_shared<telemetry::registry>();
        return p;
    }

    net::io_context& next_context()
    {
        return *contexts[next.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
    }

    /** How an accepted connection is served: serve_http or serve_metrics_http with what it needs. */
    using serve_fn = std::function<net::awaitable<void>(tcp::socket)>;

    net::awaitable<void> accept_loop(tcp::acceptor& from, serve_fn serve);
    boost::system::error_code listen(tcp::acceptor& a, std::string const& host, std::uint16_t port,
                                     std::string_view setting, std::string& why);
    void sweep_webrtc();
    void sweep_history();
    void prune_audit_hourly();
    void finish_stop(std::chrono::steady_clock::time_point deadline);
    void wait_for_closes(std::chrono::steady_clock::time_point deadline);

    server_options options;
    parts given; // until start() hands them to the shared state; log and metrics stay here
    telemetry::logger& log;
    telemetry::registry& metrics;

    // One io_context per thread: a connection lives on one thread, so its handlers never race
    // and need no strand; cross-connection sends are posted to the receiver's context.
    std::vector<std::unique_ptr<net::io_context>> contexts;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    std::atomic<std::size_t> next{0};

    std::shared_ptr<services> state;
    router routes;
    std::unique_ptr<tcp::acceptor> acceptor;
    // The private metrics listener (options.metrics_port), with a table holding only /metrics.
    router metrics_routes;
    std::unique_ptr<tcp::acceptor> metrics_acceptor;
    std::uint16_t metrics_bound_port = 0;
    std::unique_ptr<net::steady_timer> drain_timer;
    std::unique_ptr<net::steady_timer> sweep_timer; // WebRTC offer/answer deadlines
    std::unique_ptr<net::steady_timer> history_timer; // resume history's age limit
    std::unique_ptr<net::steady_timer> audit_timer;   // the audit trail's retention
    // The TURN self-probe's pause between runs, on the probe's own strand; shared with the probe
    // coroutine so stop() can cancel it whatever the coroutine is doing.
    std::shared_ptr<net::steady_timer> probe_timer;
    std::uint16_t bound_port = 0;
};

server::server(server_options options, parts p)
    : impl_(std::make_unique<impl>(std::move(options), std::move(p)))
{
    unsigned threads = impl_->options.threads ? impl_->options.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < threads; ++i) {
        impl_->contexts.push_back(std::make_unique<net::io_context>(1));
        impl_->guards.push_back(net::make_work_guard(*impl_->contexts.back()));
    }
}

server::~server() = default;

boost::system::error_code server::start(std::string& why)
{
    auto& d = *impl_;
    auto& p = d.given;
    if (!p.store) {
        store::store_options store_opts;
        store_opts.log = &d.log;
        store_opts.pool_size = d.options.database_pool;
        auto opened = store::open_store(d.options.database, store_opts);
        if (!opened) {
            why = opened.error().message;
            return opened.error().code;
        }
        p.store = std::move(*opened);
    }
    if (!p.broker)
        p.broker = std::make_shared<routing::in_process_broker>(
            routing::replay_limits{d.options.replay_max_events, d.options.replay_max_age, d.options.replay_max_bytes,
                                   d.options.replay_max_total_bytes},
            &d.metrics);
    if (!p.turn)
        p.turn = std::make_shared<turn::none_provider>(d.options.stun_urls);
    if (!p.reset_notifier)
        p.reset_notifier = std::make_shared<log_reset_notifier>(d.log, d.options.dev, d.options.public_url);
    try {
        // Every store call is timed into relay_store_duration_seconds{op} (docs/metrics.md).
        d.state = std::make_shared<services>(d.options, d.log, d.metrics,
                                             store::make_timed_store(std::move(p.store), d.metrics),
                                             std::move(p.broker), std::move(p.cluster), std::move(p.turn),
                                             std::move(p.hooks));
    } catch (std::exception const& e) {
        why = e.what();
        return make_error_code(errc::internal);
    }
    if (!d.options.tls_cert.empty()) {
        d.state->rt.tls = tls_config::load(d.options.tls_cert, d.options.tls_key, why);
        if (!d.state->rt.tls)
            return make_error_code(errc::internal);
    }
    auto& [rt, live, auth] = *d.state;
    // Sessions that were live when a previous process died end now, with a reason. Not with
    // several nodes: the database is shared, and the open rows may be another node's live
    // sessions (docs/scaling.md).
    if (!live.cluster) {
        auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
        (void)rt.store->end_open_sessions(now.count(), "relay_restart");
    }
    // The audit trail past its retention goes at start, then every hour (run()).
    prune_audit_trail(rt, std::chrono::system_clock::now());
    // With a private metrics listener, /metrics is served there only, never on the public port.
    bool const private_metrics = d.options.metrics_port.has_value();
    d.routes = router(d.options.http_body_max); // the JSON API's limit, unless a route sets its own
    add_ops_routes(d.routes, rt, live, !private_metrics);
    if (private_metrics)
        add_metrics_route(d.metrics_routes, rt);
    add_auth_routes(d.routes, rt, auth, std::move(p.reset_notifier));
    add_device_routes(d.routes, rt, auth, live);
    add_account_routes(d.routes, rt, auth, live);
    add_session_routes(d.routes, rt, auth);
    add_tunnel_routes(d.routes, rt, auth, live);
    add_turn_routes(d.routes, rt, auth);
    if (p.console)
        add_console_routes(d.routes, std::move(p.console));

    if (live.cluster) {
        // Joined before listening: the other nodes' access changes apply here from the first
        // connection on, and /health says "degraded" while Redis is away.
        apply_cluster_broadcasts(*d.state);
        rt.health_checks.push_back({"redis", [c = live.cluster] { return c->health(); }});
        live.cluster->start(live.hub);
    }
    d.acceptor = std::make_unique<tcp::acceptor>(*d.contexts.front());
    if (auto ec = d.listen(*d.acceptor, d.options.host, d.options.port, "RELAY_HOST", why)) {
        if (live.cluster)
            live.cluster->stop();
        return ec;
    }
    d.bound_port = d.acceptor->local_endpoint().port();
    if (private_metrics) {
        d.metrics_acceptor = std::make_unique<tcp::acceptor>(*d.contexts.front());
        if (auto ec = d.listen(*d.metrics_acceptor, d.options.metrics_host, *d.options.metrics_port,
                               "RELAY_METRICS_HOST", why)) {
            why = "private metrics listener (RELAY_METRICS_HOST, RELAY_METRICS_PORT): " + why;
            if (live.cluster)
                live.cluster->stop();
            return ec;
        }
        d.metrics_bound_port = d.metrics_acceptor->local_endpoint().port();
    }
    return {};
}

boost::system::error_code server::impl::listen(tcp::acceptor& a, std::string const& host, std::uint16_t port,
                                               std::string_view setting, std::string& why)
{
    boost::system::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (ec) {
        why = std::string(setting) + " is not an IP address: " + host;
        return ec;
    }
    tcp::endpoint endpoint{address, port};
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        why = "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
    return ec;
}

std::uint16_t server::port() const noexcept
{
    return impl_->bound_port;
}

net::awaitable<void> server::impl::accept_loop(tcp::acceptor& from, serve_fn serve)
{
    for (;;) {
        auto& context = next_context();
        auto [ec, socket] = co_await from.async_accept(context, use_tuple);
        if (ec) {
            if (ec == net::error::operation_aborted || !from.is_open())
                co_return;
            // Out of descriptors and the like: say so, breathe, keep serving the others.
            log.warn("accept_failed", {{"error", ec.message()}});
            net::steady_timer pause(from.get_executor(), std::chrono::milliseconds(100));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        net::co_spawn(context, serve(std::move(socket)),
                      [&l = log](std::exception_ptr e) {
                          if (!e) return;
                          try {
                              std::rethrow_exception(e);
                          } catch (std::exception const& ex) {
                              l.error("connection_failed", {{"what", ex.what()}});
                          }
                      });
    }
}

void server::impl::sweep_webrtc()
{
    // Once a second is precise enough for deadlines counted in tens of seconds.
    sweep_timer->expires_after(std::chrono::seconds(1));
    sweep_timer->async_wait([this](boost::system::error_code ec) {
        if (ec)
            return;
        for (auto const& [session, why] : state->live.webrtc.expire(std::chrono::steady_clock::now()))
            finish_webrtc_session(state->rt, state->live, session, protocol::closed_by::relay, why, notify::both);
        if (state->live.cross_node)
            state->live.cross_node->sweep(std::chrono::steady_clock::now());
        sweep_webrtc();
    });
}

void server::impl::sweep_history()
{
    // Events past the age limit are dropped even when their device publishes nothing more, so a
    // silent device's burst does not stay in memory; once a second keeps the age limit exact
    // to a second.
    history_timer->expires_after(std::chrono::seconds(1));
    history_timer->async_wait([this](boost::system::error_code ec) {
        if (ec)
            return;
        state->live.broker->sweep(std::chrono::steady_clock::now());
        sweep_history();
    });
}

void server::impl::prune_audit_hourly()
{
    audit_timer->expires_after(std::chrono::hours(1));
    audit_timer->async_wait([this](boost::system::error_code ec) {
        if (ec)
            return;
        // Off the network threads, after the entries already queued for writing.
        net::post(state->rt.store_writes,
                  [rt = runtime_of(state)] { prune_audit_trail(*rt, std::chrono::system_clock::now()); });
        prune_audit_hourly();
    });
}

void server::run()
{
    auto& d = *impl_;
    d.audit_timer = std::make_unique<net::steady_timer>(*d.contexts.front());
    d.prune_audit_hourly();
    d.sweep_timer = std::make_unique<net::steady_timer>(*d.contexts.front());
    d.sweep_webrtc();
    d.history_timer = std::make_unique<net::steady_timer>(*d.contexts.front());
    d.sweep_history();
    if (turn_probe_enabled(d.state->rt)) {
        d.probe_timer = std::make_shared<net::steady_timer>(net::make_strand(*d.contexts.front()));
        net::co_spawn(d.probe_timer->get_executor(), run_turn_probe(d.state, d.probe_timer),
                      [&l = d.log](std::exception_ptr e) {
                          if (!e) return;
                          try {
                              std::rethrow_exception(e);
                          } catch (std::exception const& ex) {
                              l.error("turn_probe_stopped", {{"what", ex.what()}});
                          }
                      });
    }
    // Logged before "listening", so whoever waits for that line also knows the metrics port.
    if (d.metrics_acceptor) {
        d.log.info("metrics_listening", {{"host", d.options.metrics_host}, {"port", d.metrics_bound_port}});
        net::co_spawn(*d.contexts.front(),
                      d.accept_loop(*d.metrics_acceptor,
                                    [rt = runtime_of(d.state), &table = d.metrics_routes](tcp::socket socket) {
                                        return serve_metrics_http(rt, table, std::move(socket));
                                    }),
                      net::detached);
    }
    d.log.info("listening", {{"host", d.options.host}, {"port", d.bound_port},
                             {"threads", d.contexts.size()}, {"busy_poll_us", d.options.busy_poll.count()},
                             {"tls", d.state->rt.tls != nullptr}});
    net::co_spawn(*d.contexts.front(),
                  d.accept_loop(*d.acceptor,
                                [state = d.state, &table = d.routes](tcp::socket socket) {
                                    return serve_http(state, table, std::move(socket));
                                }),
                  net::detached);
    std::vector<std::thread> threads;
    auto busy_poll = d.options.busy_poll;
    for (std::size_t i = 1; i < d.contexts.size(); ++i)
        threads.emplace_back([&c = *d.contexts[i], busy_poll] { write_batcher::drive(c, busy_poll); });
    write_batcher::drive(*d.contexts.front(), busy_poll);
    for (auto& t : threads)
        t.join();
    // Every robot connection has ended (and released its robot): the node leaves the cluster.
    if (d.state->live.cluster)
        d.state->live.cluster->stop();
    d.state->rt.blocking.join();
    d.log.info("stopped");
}

void server::impl::finish_stop(std::chrono::steady_clock::time_point deadline)
{
    // In-flight HTTP requests (REST-tunnel calls among them) may finish within the grace period;
    // robots stay connected meanwhile so their answers can still arrive.
    if (state->rt.requests_in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        drain_timer->expires_after(std::chrono::milliseconds(20));
        drain_timer->async_wait([this, deadline](boost::system::error_code) { finish_stop(deadline); });
        return;
    }
    // Requests still waiting for a robot are answered now rather than left to the close handshakes.
    for (auto const& waiter : state->live.hub.take_every_tunnel())
        waiter->fail(errc::device_offline, "the relay is restarting; try again shortly");
    for (auto const& c : state->live.connections.of_kind("robot"))
        c->post_close(protocol::close_code::service_restart);
    // A moment for the close handshakes, bounded, then every thread returns.
    auto closes_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    wait_for_closes(closes_deadline);
}

void server::impl::wait_for_closes(std::chrono::steady_clock::time_point deadline)
{
    if ((state->live.connections.size() > 0 || state->rt.requests_in_flight.load() > 0) &&
        std::chrono::steady_clock::now() < deadline) {
        drain_timer->expires_after(std::chrono::milliseconds(20));
        drain_timer->async_wait([this, deadline](boost::system::error_code) { wait_for_closes(deadline); });
        return;
    }
    for (auto& g : guards)
        g.reset();
    for (auto& c : contexts)
        c->stop();
}

std::string server::reload_tls()
{
    auto& d = *impl_;
    if (!d.state || !d.state->rt.tls)
        return "TLS is not configured (RELAY_TLS_CERT, RELAY_TLS_KEY)";
    auto why = d.state->rt.tls->reload();
    if (why.empty())
        d.log.info("tls_reloaded", {{"cert", d.options.tls_cert}});
    else
        d.log.error("tls_reload_failed", {{"reason", why}});
    return why;
}

void server::stop()
{
    auto& d = *impl_;
    net::post(*d.contexts.front(), [&d] {
        if (d.state->rt.stopping.exchange(true))
            return;
        d.log.info("stopping", {{"grace_s", d.options.shutdown_grace.count()}});
        boost::system::error_code ec;
        d.acceptor->close(ec);
        if (d.metrics_acceptor)
            d.metrics_acceptor->close(ec);
        if (d.sweep_timer)
            d.sweep_timer->cancel();
        if (d.history_timer)
            d.history_timer->cancel();
        if (d.audit_timer)
            d.audit_timer->cancel();
        if (d.probe_timer)
            d.probe_timer->cancel();
        // Apps are told at once to reconnect elsewhere (1012); robots once the drain is over.
        for (auto const& c : d.state->live.connections.of_kind("app"))
            c->post_close(protocol::close_code::service_restart);
        d.drain_timer = std::make_unique<net::steady_timer>(*d.contexts.front());
        d.finish_stop(std::chrono::steady_clock::now() + d.options.shutdown_grace);
    });
}

} // namespace relay::server
