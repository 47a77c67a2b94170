#pragma once
/** @file
 * Logins that ended before their access tokens expire. Access tokens are stateless: a logout, a
 * password reset or a reused refresh token revokes refresh tokens in the store, but the access
 * tokens already handed out would go on working until their `exp`. The relay remembers those
 * ends for as long as any token they cover can still be valid (the access lifetime plus the
 * verifier's leeway) and refuses the tokens meanwhile, then forgets them: the list holds only
 * the ends of the last few minutes. It lives in one process; relays sharing a database share
 * refresh tokens, not this list.
 */
#include <relay/auth/jwt.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace relay::auth {

class ended_logins {
public:
    using clock = std::chrono::system_clock;

    /** `remember_for`: how long an end is kept, at least the longest time a token issued before
     * it can still verify (access TTL + leeway). Throws std::invalid_argument when not positive. */
    explicit ended_logins(std::chrono::seconds remember_for);

    /** One login ended (logout): tokens whose `sid` is `login_id` are refused. An empty id (a
     * token minted without `sid`) names nothing and is ignored. */
    void end_login(std::string_view login_id, clock::time_point now);

    /** Every login of `user_id` ended (password reset, refresh reuse, account removal): tokens of
     * that user issued in an earlier second than `now` are refused. `iat` has whole seconds, so a
     * token issued within the same second is served: a new login right after a reset must work
     * (an app may log in again at once), and a login that must not survive is ended by its `sid`
     * as well where it is known (refresh reuse names its family). */
    void end_all(std::string_view user_id, clock::time_point now);

    /** Whether `claims` (of a token that verified) belong to an ended login. */
    bool covers(jwt_claims const& claims, clock::time_point now) const;

    /** Ends remembered right now (for tests and metrics). */
    std::size_t size() const;

private:
    void forget_old(clock::time_point now); // mutex_ held

    struct user_end {
        std::int64_t at;          // unix seconds: tokens issued before this second are refused
        clock::time_point forget; // when no token issued before `at` can verify any more
    };

    std::chrono::seconds const remember_for_;
    mutable std::mutex mutex_; // guards everything below
    std::unordered_map<std::string, clock::time_point> logins_; // sid → forget at
    std::unordered_map<std::string, user_end> users_;
    clock::time_point next_forget_{};
};

} // namespace relay::auth
