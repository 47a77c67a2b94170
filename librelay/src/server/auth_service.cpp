#include "server/auth_service.hpp"

#include "server/cluster_sync.hpp"

namespace relay::server {

auth_service::auth_service(server_options const& options, routing::hub& hub, routing::cluster* cluster)
    : jwt(options.jwt_secret),
      // One second more: exp is checked in whole seconds.
      ended_logins(options.access_ttl + jwt.leeway() + std::chrono::seconds(1)),
      passwords(auth::scrypt_params{options.scrypt_log_n, 8, 1}),
      device_secrets(options.secret_key),
      hub_(hub),
      cluster_(cluster)
{
}

boost::system::result<auth::jwt_claims> auth_service::verify_access_claims(std::string_view token) const
{
    if (token.empty())
        return make_error_code(errc::unauthorized);
    auto now = std::chrono::system_clock::now();
    auto claims = jwt.verify(token, now);
    if (claims && ended_logins.covers(*claims, now))
        return make_error_code(errc::unauthorized);
    return claims;
}

void auth_service::end_login(std::string const& user_id, std::string const& login_id)
{
    apply_end_login(user_id, login_id);
    // Its tokens are refused on every node, not only where the logout happened.
    if (cluster_ && !login_id.empty())
        broadcast_logins_ended(*cluster_, user_id, login_id);
}

void auth_service::end_all_logins(std::string const& user_id)
{
    apply_end_all_logins(user_id);
    if (cluster_)
        broadcast_logins_ended(*cluster_, user_id, {});
}

void auth_service::apply_end_login(std::string const& user_id, std::string const& login_id)
{
    ended_logins.end_login(login_id, std::chrono::system_clock::now());
    hub_.end_login(user_id, login_id);
}

void auth_service::apply_end_all_logins(std::string const& user_id)
{
    ended_logins.end_all(user_id, std::chrono::system_clock::now());
    hub_.end_all_logins(user_id);
}

boost::system::result<std::string> auth_service::verify_access_token(std::string_view token) const
{
    auto claims = verify_access_claims(token);
    if (!claims)
        return claims.error();
    return std::move(claims->sub);
}

} // namespace relay::server
