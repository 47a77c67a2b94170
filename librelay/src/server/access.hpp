#pragma once
// Who is calling: access-token checks and roles, shared by HTTP routes and /ws/app.
#include <relay/auth/jwt.hpp>
#include <relay/protocol/common.hpp>
#include <relay/store/types.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace relay::server {

struct shared_state;

/** The claims of a valid access token of a login that has not ended; errc::unauthorized or
 * errc::token_expired otherwise. */
boost::system::result<auth::jwt_claims> verify_access_claims(shared_state const& state, std::string_view token);

/**
 * Ends one login (logout): its access tokens are refused from now on, and the app sockets opened
 * or renewed with it close. An empty `login_id` (a token minted without `sid`) names nothing.
 */
void end_login(shared_state& state, std::string const& user_id, std::string const& login_id);

/** Ends every login of a user (password reset, refresh reuse, account removal): tokens issued
 * before this second are refused and every app socket of the user closes. */
void end_all_logins(shared_state& state, std::string const& user_id);

/** The user id in a valid access token; errc::unauthorized or errc::token_expired otherwise. */
boost::system::result<std::string> verify_access_token(shared_state const& state, std::string_view token);

} // namespace relay::server
