#include "server/turn_probe.hpp"

#include "server/blocking.hpp"
#include "server/services.hpp"
#include "turn/turn_client.hpp"

#include <chrono>

namespace relay::server {
namespace {

std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/** The metrics, the log line and the status /health reads. */
void record(runtime& rt, turn::probe_report const& report)
{
    auto& m = rt.metrics.registry;
    constexpr std::string_view total_help = "TURN self-probe allocations by URL and outcome.";
    if (!report.credentials_failure.empty())
        m.get_counter("relay_turn_probe_total", total_help, {{"url", ""}, {"outcome", "no_credentials"}}).inc();
    for (auto const& u : report.urls) {
        m.get_counter("relay_turn_probe_total", total_help,
                      {{"url", u.url}, {"outcome", std::string(turn::to_string(u.outcome.kind))}})
            .inc();
        if (u.outcome.ok())
            m.get_gauge("relay_turn_probe_last_success_timestamp_seconds",
                        "Unix time of the last successful TURN self-probe allocation, by URL.", {{"url", u.url}})
                .set(unix_now());
    }
    rt.turn_probe.record(report);
    if (report.ok())
        rt.log.info("turn_probe", {{"urls", report.urls.size()}, {"outcome", "ok"}});
    else
        rt.log.warn("turn_probe_failed", {{"problems", report.problems()}});
}

} // namespace

void turn_probe_status::record(turn::probe_report const& report)
{
    auto problems = report.problems();
    std::lock_guard lock(mutex_);
    problems_ = std::move(problems);
}

std::string turn_probe_status::problems() const
{
    std::lock_guard lock(mutex_);
    return problems_;
}

bool turn_probe_enabled(runtime const& rt) noexcept
{
    return rt.options.turn_probe_interval.count() > 0 && rt.turn->name() != "none";
}

net::awaitable<void> run_turn_probe(std::shared_ptr<services> state, std::shared_ptr<net::steady_timer> timer)
{
    auto& rt = state->rt;
    // turns: URLs are verified like any TLS server: the system's CAs (SSL_CERT_FILE included).
    auto tls = turn::detail::make_turn_tls_context({});
    turn::client_options options;
    for (;;) {
        if (rt.stopping.load())
            co_return;
        // credentials() may block (the Cloudflare API): the blocking pool, never this strand.
        auto credentials = co_await run_blocking(rt.blocking, [&rt]() -> turn::credentials_result {
            // An embedder's provider may throw: that is a failed run, not the end of the probe.
            try {
                return rt.turn->credentials(turn::probe_subject, turn::probe_ttl);
            } catch (std::exception const& e) {
                return turn::failure{make_error_code(errc::turn_unavailable), e.what()};
            }
        });
        auto report = co_await turn::detail::async_probe(credentials, options, *tls);
        record(rt, report);
        timer->expires_after(rt.options.turn_probe_interval);
        auto [ec] = co_await timer->async_wait(use_tuple);
        if (ec)
            co_return; // cancelled: the server stops
    }
}

} // namespace relay::server
