#include "server/access.hpp"

#include "server/shared_state.hpp"

namespace relay::server {

boost::system::result<auth::jwt_claims> verify_access_claims(shared_state const& state, std::string_view token)
{
    if (token.empty())
        return make_error_code(errc::unauthorized);
    auto now = std::chrono::system_clock::now();
    auto claims = state.jwt.verify(token, now);
    if (claims && state.ended_logins.covers(*claims, now))
        return make_error_code(errc::unauthorized);
    return claims;
}

void end_login(shared_state& state, std::string const& user_id, std::string const& login_id)
{
    state.ended_logins.end_login(login_id, std::chrono::system_clock::now());
    state.hub.end_login(user_id, login_id);
}

void end_all_logins(shared_state& state, std::string const& user_id)
{
    state.ended_logins.end_all(user_id, std::chrono::system_clock::now());
    state.hub.end_all_logins(user_id);
}

boost::system::result<std::string> verify_access_token(shared_state const& state, std::string_view token)
{
    auto claims = verify_access_claims(state, token);
    if (!claims)
        return claims.error();
    return std::move(claims->sub);
}

} // namespace relay::server
