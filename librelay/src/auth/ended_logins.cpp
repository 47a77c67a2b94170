#include <relay/auth/ended_logins.hpp>

#include <stdexcept>

namespace relay::auth {

ended_logins::ended_logins(std::chrono::seconds remember_for) : remember_for_(remember_for)
{
    if (remember_for <= std::chrono::seconds(0))
        throw std::invalid_argument("ended logins: the time to remember them must be positive");
}

void ended_logins::end_login(std::string_view login_id, clock::time_point now)
{
    if (login_id.empty())
        return;
    std::lock_guard lock(mutex_);
    forget_old(now);
    logins_.insert_or_assign(std::string(login_id), now + remember_for_);
}

void ended_logins::end_all(std::string_view user_id, clock::time_point now)
{
    std::lock_guard lock(mutex_);
    forget_old(now);
    auto at = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    users_.insert_or_assign(std::string(user_id), user_end{at, now + remember_for_});
}

bool ended_logins::covers(jwt_claims const& claims, clock::time_point now) const
{
    std::lock_guard lock(mutex_);
    if (!claims.sid.empty())
        if (auto it = logins_.find(claims.sid); it != logins_.end() && now < it->second)
            return true;
    if (auto it = users_.find(claims.sub); it != users_.end() && now < it->second.forget)
        return claims.iat < it->second.at;
    return false;
}

std::size_t ended_logins::size() const
{
    std::lock_guard lock(mutex_);
    return logins_.size() + users_.size();
}

void ended_logins::forget_old(clock::time_point now)
{
    // At most once a second, so a burst of logouts does not scan the list each time.
    if (now < next_forget_)
        return;
    next_forget_ = now + std::chrono::seconds(1);
    std::erase_if(logins_, [now](auto const& e) { return e.second <= now; });
    std::erase_if(users_, [now](auto const& e) { return e.second.forget <= now; });
}

} // namespace relay::auth
