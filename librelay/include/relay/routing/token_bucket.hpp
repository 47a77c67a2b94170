#pragma once
/** @file Per-connection rate limiting (contract section 7). */
#include <algorithm>
#include <chrono>

namespace relay::routing {

/**
 * A token bucket: `rate` tokens per second, at most `burst` banked; starts full. Not
 * thread-safe: each connection owns its buckets and touches them only from its own thread.
 */
class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket(double rate, double burst, clock::time_point now = clock::now()) noexcept
        : rate_(rate), burst_(burst), tokens_(burst), last_(now)
    {
    }

    /** Takes one token if there is one. */
    bool try_take(clock::time_point now = clock::now()) noexcept
    {
        double elapsed = std::chrono::duration<double>(now - last_).count();
        if (elapsed > 0) {
            tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
            last_ = now;
        }
        if (tokens_ < 1.0)
            return false;
        tokens_ -= 1.0;
        return true;
    }

private:
    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

} // namespace relay::routing
