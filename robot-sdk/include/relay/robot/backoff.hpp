#pragma once
/** @file
 * How long a robot waits before reconnecting. Exponential, so a relay that is down is not
 * hammered; jittered, so a fleet of robots that lost the relay at the same moment does not
 * come back in lockstep; reset after a connection that stayed up, so one blip after weeks of
 * uptime does not cost 30 s.
 */
#include <chrono>
#include <cstdint>
#include <random>

namespace relay::robot {

/** The reconnect schedule: `initial` doubling up to `max`. */
struct backoff_policy {
    std::chrono::milliseconds initial{500};
    std::chrono::milliseconds max{30000};
};

/**
 * Delays for consecutive failed attempts. The n-th delay (n from 0) is drawn uniformly from
 * [d/2, d] with d = min(initial · 2^n, max) ("equal jitter"): never less than half the
 * nominal wait, never more than it. Not thread-safe; the client uses one on its I/O strand.
 */
class backoff {
public:
    /** `seed` makes the jitter reproducible (tests); by default it comes from std::random_device. */
    explicit backoff(backoff_policy policy = {}, std::uint64_t seed = std::random_device{}());

    /** The delay before the next attempt; counts it as a failed attempt. */
    std::chrono::milliseconds next();

    /** Starts over from `initial` (after a connection that stayed up long enough). */
    void reset() noexcept { failures_ = 0; }

    /** Consecutive attempts counted since the last reset(). */
    unsigned failures() const noexcept { return failures_; }

    backoff_policy const& policy() const noexcept { return policy_; }

private:
    backoff_policy policy_;
    unsigned failures_ = 0;
    std::mt19937_64 random_;
};

} // namespace relay::robot
