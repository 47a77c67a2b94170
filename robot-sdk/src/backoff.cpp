#include <relay/robot/backoff.hpp>

#include <algorithm>

namespace relay::robot {

backoff::backoff(backoff_policy policy, std::uint64_t seed) : policy_(policy), random_(seed)
{
    // A zero or negative schedule would turn reconnecting into a busy loop.
    policy_.initial = std::max(policy_.initial, std::chrono::milliseconds(1));
    policy_.max = std::max(policy_.max, policy_.initial);
}

std::chrono::milliseconds backoff::next()
{
    // initial · 2^failures, capped; the shift stops growing long before it could overflow.
    auto nominal = policy_.initial;
    for (unsigned i = 0; i < failures_ && nominal < policy_.max; ++i)
        nominal *= 2;
    nominal = std::min(nominal, policy_.max);
    ++failures_;
    std::uniform_int_distribution<std::int64_t> jitter(nominal.count() / 2, nominal.count());
    return std::chrono::milliseconds(jitter(random_));
}

} // namespace relay::robot
