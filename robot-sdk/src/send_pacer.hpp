#pragma once
// A token bucket for what the robot sends, so the client stays under the relay's per-robot
// rate limit (contract section 7) even when it flushes a full outbox after an outage: a
// message over the relay's limit would be answered RATE_LIMITED and dropped.
#include <algorithm>
#include <chrono>

namespace relay::robot::detail {

class send_pacer {
public:
    using clock = std::chrono::steady_clock;

    /** `rate` messages per second, at most `burst` at once; starts full. */
    send_pacer(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

    /** Takes one token if there is one. */
    bool try_take(clock::time_point now)
    {
        refill(now);
        if (tokens_ < 1)
            return false;
        tokens_ -= 1;
        return true;
    }

    /** How long until a token is available (at least 1 ms, so a timer always advances). */
    std::chrono::milliseconds wait_time(clock::time_point now)
    {
        refill(now);
        double missing = std::max(0.0, 1.0 - tokens_);
        auto ms = static_cast<long long>(missing / rate_ * 1000.0) + 1;
        return std::chrono::milliseconds(ms);
    }

private:
    void refill(clock::time_point now)
    {
        if (last_ != clock::time_point{}) {
            double elapsed = std::chrono::duration<double>(now - last_).count();
            tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
        }
        last_ = now;
    }

    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_{};
};

} // namespace relay::robot::detail
