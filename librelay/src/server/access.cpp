#include "access.hpp"

#include "shared_state.hpp"

namespace relay::server {

boost::system::result<auth::jwt_claims> verify_access_claims(shared_state const& state, std::string_view token)
{
    if (token.empty())
        return make_error_code(errc::unauthorized);
    return state.jwt.verify(token, std::chrono::system_clock::now());
}

boost::system::result<std::string> verify_access_token(shared_state const& state, std::string_view token)
{
    auto claims = verify_access_claims(state, token);
    if (!claims)
        return claims.error();
    return std::move(claims->sub);
}

} // namespace relay::server
