#pragma once
// The auth service: who is calling and what ends a login — access tokens, ended logins,
// password hashing, sealed device secrets and the failure throttles. Shared by the HTTP routes,
// /ws/app and /ws/device.
#include <relay/auth/ended_logins.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/auth/password.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/auth/throttle.hpp>
#include <relay/routing/cluster.hpp>
#include <relay/routing/hub.hpp>
#include <relay/server/options.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace relay::server {

/** The auth service. Thread-safe: its members are immutable or guard themselves. */
class auth_service {
public:
    /** `hub` (the live service's) is where an ended login's sockets are closed, and `cluster`
     * (when several nodes) tells the other nodes. Throws
     * std::invalid_argument when the JWT secret or the sealing key in `options` is unusable. */
    auth_service(server_options const& options, routing::hub& hub, routing::cluster* cluster = nullptr);

    /** The claims of a valid access token of a login that has not ended; errc::unauthorized or
     * errc::token_expired otherwise. */
    boost::system::result<auth::jwt_claims> verify_access_claims(std::string_view token) const;

    /** The user id in a valid access token; errc::unauthorized or errc::token_expired otherwise. */
    boost::system::result<std::string> verify_access_token(std::string_view token) const;

    /**
     * Ends one login (logout): its access tokens are refused from now on, and the app sockets
     * opened or renewed with it close. An empty `login_id` (a token minted without `sid`) names
     * nothing.
     */
    void end_login(std::string const& user_id, std::string const& login_id);

    /** Ends every login of a user (password reset, refresh reuse, account removal): tokens issued
     * before this second are refused and every app socket of the user closes. */
    void end_all_logins(std::string const& user_id);

    /** end_login as another node told it (cluster_sync.hpp): applied on this node only. */
    void apply_end_login(std::string const& user_id, std::string const& login_id);
    /** end_all_logins as another node told it: applied on this node only. */
    void apply_end_all_logins(std::string const& user_id);

    auth::jwt_codec const jwt;
    /** Logins ended before their access tokens expire (logout, password reset, refresh reuse):
     * verify_access_claims refuses their tokens until those could not verify anyway. */
    auth::ended_logins ended_logins;
    auth::password_hasher const passwords;
    /** Seals device secrets at rest under RELAY_SECRET_KEY. */
    auth::secret_box const device_secrets;
    /** Failed logins per account ("email:…"); five lock the account for a while. */
    auth::failure_throttle login_failures;
    /**
     * Failed logins per client address ("addr:…"), with a higher limit: many people share an
     * address behind a NAT, and one of them mistyping must not lock out the rest.
     */
    auth::failure_throttle address_failures{auth::throttle_policy{.max_failures = 30}};
    /** Failed device authentications, keyed "device:…" and "addr:…": they slow the next
     * failures down but never refuse a correct signature. */
    auth::failure_delay device_failures;

private:
    routing::hub& hub_;
    routing::cluster* const cluster_; // null: one process; else ended logins are told to every node
};

} // namespace relay::server
