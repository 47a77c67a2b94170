#pragma once
/** @file
 * Brute-force protection for logins, password resets and device authentication: count recent
 * failures per key ("email:ann@example.com", "addr:203.0.113.7", "device:wimz-001") and block a
 * key for a while once it has failed too often. Only failures count, so many users behind one
 * NAT address who log in successfully are never throttled.
 */
#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace relay::auth {

/** How a failure_throttle counts and blocks. */
struct throttle_policy {
    /** Failures within `window` that trigger a lockout. */
    std::size_t max_failures = 5;
    /** How long failures are remembered towards a lockout, counted from the first of them. */
    std::chrono::seconds window{std::chrono::minutes(15)};
    /** The first lockout; each further lockout of the same key doubles it, up to max_lockout. */
    std::chrono::seconds lockout{std::chrono::minutes(1)};
    /** The longest lockout. */
    std::chrono::seconds max_lockout{std::chrono::hours(1)};
    /** A key with no failure for this long is forgotten, escalation included. Must be at least
     * `window` and `max_lockout`. */
    std::chrono::seconds forget_after{std::chrono::hours(24)};
    /** Most keys remembered; beyond it the key whose last failure is oldest is forgotten, so an
     * attacker cycling through addresses cannot grow memory without bound. */
    std::size_t max_keys = 100000;
};

/** Failure counting with escalating lockouts. The caller passes the time in, so behaviour is
 * deterministic in tests. Thread-safe: one mutex (mutex_) guards all state; every call holds it
 * briefly and does O(log n) work plus amortized pruning. */
class failure_throttle {
public:
    using clock = std::chrono::steady_clock;

    /** Throws std::invalid_argument for a policy that cannot work (zero failures or keys,
     * non-positive durations, max_lockout below lockout, forget_after below window or
     * max_lockout). */
    explicit failure_throttle(throttle_policy policy = {});

    /** nullopt when `key` may try now; otherwise how long until it may (at least one second,
     * rounded up), e.g. for a 429 with Retry-After. Checking never counts as an attempt. */
    std::optional<std::chrono::seconds> check(std::string_view key, clock::time_point now);

    /** Counts a failed attempt for `key`. Reaching max_failures within the window locks the key
     * for the current lockout length and doubles the next one. Failures recorded while the key
     * is locked are ignored: they neither extend the lockout nor count towards the next. */
    void record_failure(std::string_view key, clock::time_point now);

    /** Forgets `key` entirely (its failures and its escalation), after a successful attempt. */
    void record_success(std::string_view key);

    /** Number of keys currently remembered. */
    std::size_t size() const;

private:
    struct entry {
        clock::time_point window_start{};
        clock::time_point last_failure{};
        clock::time_point locked_until{};
        std::size_t failures = 0;
        unsigned lockouts = 0;
        std::list<std::string const*>::iterator order;
    };
    using entry_map = std::map<std::string, entry, std::less<>>;

    void forget_stale(clock::time_point now);
    void erase(entry_map::iterator it);
    std::chrono::seconds lockout_for(unsigned lockouts) const noexcept;

    throttle_policy policy_;
    mutable std::mutex mutex_; // guards entries_ and order_
    entry_map entries_;
    /** Keys (pointing into entries_) by last failure, oldest first: the front is what expires
     * first and what is evicted when the map is full. */
    std::list<std::string const*> order_;
};

} // namespace relay::auth
