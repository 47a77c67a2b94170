#include <relay/auth/throttle.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace relay::auth {

failure_throttle::failure_throttle(throttle_policy policy)
    : policy_(policy)
{
    using std::chrono::seconds;
    if (policy_.max_failures == 0 || policy_.max_keys == 0)
        throw std::invalid_argument("throttle policy: max_failures and max_keys must be positive");
    if (policy_.window <= seconds(0) || policy_.lockout <= seconds(0) || policy_.max_lockout < policy_.lockout)
        throw std::invalid_argument("throttle policy: window and lockout must be positive, max_lockout >= lockout");
    if (policy_.forget_after < policy_.window || policy_.forget_after < policy_.max_lockout)
        throw std::invalid_argument("throttle policy: forget_after must be at least window and max_lockout");
}

std::optional<std::chrono::seconds> failure_throttle::check(std::string_view key, clock::time_point now)
{
    std::lock_guard lock(mutex_);
    forget_stale(now);
    auto const it = entries_.find(key);
    if (it == entries_.end() || now >= it->second.locked_until)
        return std::nullopt;
    auto const wait = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
    return std::max(wait, std::chrono::seconds(1));
}

void failure_throttle::record_failure(std::string_view key, clock::time_point now)
{
    std::lock_guard lock(mutex_);
    forget_stale(now);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        if (entries_.size() >= policy_.max_keys)
            erase(entries_.find(*order_.front()));
        it = entries_.emplace(std::string(key), entry{}).first;
        it->second.order = order_.insert(order_.end(), &it->first);
    }
    auto& e = it->second;
    if (now < e.locked_until)
        return;
    if (e.failures == 0 || now - e.window_start >= policy_.window) {
        e.failures = 0;
        e.window_start = now;
    }
    ++e.failures;
    e.last_failure = now;
    order_.splice(order_.end(), order_, e.order); // now the most recent failure
    if (e.failures >= policy_.max_failures) {
        ++e.lockouts;
        e.locked_until = now + lockout_for(e.lockouts);
        e.failures = 0;
    }
}

void failure_throttle::record_success(std::string_view key)
{
    std::lock_guard lock(mutex_);
    auto const it = entries_.find(key);
    if (it != entries_.end())
        erase(it);
}

std::size_t failure_throttle::recent_failures(std::string_view key, clock::time_point now)
{
    std::lock_guard lock(mutex_);
    auto const it = entries_.find(key);
    if (it == entries_.end() || now - it->second.window_start >= policy_.window)
        return 0;
    return it->second.failures;
}

std::size_t failure_throttle::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

// Drops keys whose last failure is older than forget_after. Since forget_after >= max_lockout,
// such a key is no longer locked either; order_ is sorted by last failure, so this stops at the
// first key that is still fresh.
void failure_throttle::forget_stale(clock::time_point now)
{
    while (!order_.empty()) {
        auto const it = entries_.find(*order_.front());
        if (now - it->second.last_failure < policy_.forget_after)
            return;
        erase(it);
    }
}

void failure_throttle::erase(entry_map::iterator it)
{
    order_.erase(it->second.order);
    entries_.erase(it);
}

// lockout · 2^(lockouts-1), capped at max_lockout without overflowing.
std::chrono::seconds failure_throttle::lockout_for(unsigned lockouts) const noexcept
{
    auto length = policy_.lockout;
    for (unsigned i = 1; i < lockouts && length < policy_.max_lockout; ++i)
        length *= 2;
    return std::min(length, policy_.max_lockout);
}

namespace {

// The counting throttle of a failure_delay: remembers failures for the window and never locks.
throttle_policy counting_policy(delay_policy const& p)
{
    if (p.first_delay <= std::chrono::milliseconds(0) || p.max_delay < p.first_delay
        || p.window <= std::chrono::seconds(0) || p.max_keys == 0)
        throw std::invalid_argument(
            "delay policy: first_delay and window must be positive, max_delay >= first_delay, max_keys positive");
    throttle_policy counting;
    counting.max_failures = std::numeric_limits<std::size_t>::max();
    counting.window = p.window;
    counting.lockout = p.window;
    counting.max_lockout = p.window;
    counting.forget_after = p.window;
    counting.max_keys = p.max_keys;
    return counting;
}

} // namespace

failure_delay::failure_delay(delay_policy policy)
    : policy_(policy), counts_(counting_policy(policy))
{
}

std::chrono::milliseconds failure_delay::record_failure(std::string_view key, clock::time_point now)
{
    counts_.record_failure(key, now);
    return delay_after(counts_.recent_failures(key, now));
}

std::chrono::milliseconds failure_delay::delay_after(std::size_t failures) const noexcept
{
    if (failures == 0)
        return std::chrono::milliseconds(0);
    auto delay = policy_.first_delay;
    for (std::size_t i = 1; i < failures && delay < policy_.max_delay; ++i)
        delay *= 2;
    return std::min(delay, policy_.max_delay);
}

} // namespace relay::auth
