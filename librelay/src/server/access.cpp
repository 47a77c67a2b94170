#include "access.hpp"

#include "shared_state.hpp"

namespace relay::server {

boost::system::result<std::string> verify_access_token(shared_state const& state, std::string_view token)
{
    if (token.empty())
        return make_error_code(errc::unauthorized);
    auto claims = state.jwt.verify(token, std::chrono::system_clock::now());
    if (!claims)
        return claims.error();
    return std::move(claims->sub);
}

} // namespace relay::server
