#pragma once
// The TURN self-probe inside the server (docs/webrtc.md "The relay probes its own TURN"): every
// RELAY_TURN_PROBE_INTERVAL seconds, fresh credentials from the provider (on the blocking pool)
// and a real Allocate, released at once, on each TURN URL (asynchronously, on the probe's own
// strand): request handling never waits for it. /health shows what the last run found.
#include "server/net.hpp"

#include <relay/turn/probe.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace relay::server {

struct runtime;
struct services;

/** What the last probe found, for /health's `turn` check. Thread-safe (a mutex). */
class turn_probe_status {
public:
    /** Keeps what `report` says is wrong ("" when all passed). */
    void record(turn::probe_report const& report);
    /** "URL: answer; …" of the last probe's failures; "" when it passed or none ran yet. */
    std::string problems() const;

private:
    mutable std::mutex mutex_;
    std::string problems_;
};

/**
 * Runs the probe at once and then every options.turn_probe_interval until `timer` is cancelled
 * (server::stop) or the server stops. `timer`'s executor is the probe's strand; spawn the
 * coroutine there. Records into rt.turn_probe, the metrics and the log.
 */
net::awaitable<void> run_turn_probe(std::shared_ptr<services> state, std::shared_ptr<net::steady_timer> timer);

/** Whether the server runs the probe: an interval above 0 and a provider other than "none". */
bool turn_probe_enabled(runtime const& rt) noexcept;

} // namespace relay::server
