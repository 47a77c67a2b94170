#pragma once
/** @file
 * Brute-force protection for logins, password resets and device authentication: count recent
 * failures per key ("email:ann@example.com", "addr:203.0.113.7", "device:wimz-001") and either
 * block a key for a while once it has failed too often (failure_throttle) or only slow its
 * failures down (failure_delay, for keys a stranger can name). Only failures count, so many users
 * behind one NAT address who log in successfully are never throttled.
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

    /** Failures of `key` in its current window that have not yet led to a lockout. */
    std::size_t recent_failures(std::string_view key, clock::time_point now);

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

/** How a failure_delay slows repeated failures down. */
struct delay_policy {
    /** The delay after a key's first failure; each further failure doubles it, up to max_delay. */
    std::chrono::milliseconds first_delay{100};
    /** The longest delay: long enough to make guessing slow, short enough that it never keeps
     * anyone out. */
    std::chrono::milliseconds max_delay{3000};
    /** How long failures are remembered, counted from the first of them. */
    std::chrono::seconds window{std::chrono::minutes(15)};
    /** Most keys remembered; beyond it the key whose last failure is oldest is forgotten. */
    std::size_t max_keys = 100000;
};

/**
 * Slows failures down without ever refusing a correct attempt, for keys a stranger can name
 * (a device id is no secret): an attacker's guesses must not lock the real owner out. The caller
 * holds each failure's answer back for the returned delay, which grows with the key's recent
 * failures, so guessing gets slow while a correct attempt is checked and answered at once.
 * Thread-safe (the counting failure_throttle's mutex); time is passed in, as for failure_throttle.
 */
class failure_delay {
public:
    using clock = failure_throttle::clock;

    /** Throws std::invalid_argument for non-positive delays or window, max_delay below
     * first_delay, or zero max_keys. */
    explicit failure_delay(delay_policy policy = {});

    /** Counts a failure for `key` and returns how long to hold its answer back. */
    std::chrono::milliseconds record_failure(std::string_view key, clock::time_point now);

    /** Forgets `key`'s failures after a successful attempt. */
    void record_success(std::string_view key) { counts_.record_success(key); }

    /** The delay after `failures` recent failures: first_delay · 2^(failures-1), capped. */
    std::chrono::milliseconds delay_after(std::size_t failures) const noexcept;

private:
    delay_policy policy_;
    failure_throttle counts_; // counts only: its lockout is never reached
};

} // namespace relay::auth
