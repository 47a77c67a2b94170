// Accounts and tokens (contract section 2): register, login, refresh with rotation and reuse
// detection, logout, password reset. docs/api.md describes every answer.
#include "server/api/api_common.hpp"
#include <relay/server/reset_notifier.hpp>
#include "server/audit.hpp"
#include "server/blocking.hpp"
#include "server/http/http_util.hpp"
#include "server/api/api_common.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"
#include "server/services.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/auth/email.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/auth/password.hpp>
#include <relay/auth/throttle.hpp>

#include <boost/beast/http/field.hpp>

#include <exception>
#include <memory>
#include <mutex>

namespace relay::server {
namespace {

/** How long a password-reset token works. */
constexpr store::unix_seconds reset_token_ttl = 30 * 60;

/** What the auth routes keep between requests; owned by their handlers, so it lives as long as
 * the route table. */
struct auth_routes_state {
    explicit auth_routes_state(std::shared_ptr<reset_notifier> n) : notifier(std::move(n)) {}

    std::shared_ptr<reset_notifier> notifier;

    // A hash of a random password, verified against when the email is unknown so that a login
    // takes as long for a missing account as for a wrong password. Made on first need, on the
    // blocking pool, with the same parameters as real hashes.
    std::once_flag dummy_once;
    std::string dummy_hash;

    // Reset requests per email: at most 5 an hour, so the endpoint cannot be used to flood
    // someone's mailbox. Excess requests still answer 202 (nothing may reveal an account).
    auth::failure_throttle reset_requests{auth::throttle_policy{5, std::chrono::hours(1), std::chrono::hours(1),
                                                                std::chrono::hours(1), std::chrono::hours(24), 100000}};

    std::string const& dummy(auth::password_hasher const& hasher)
    {
        std::call_once(dummy_once, [&] { dummy_hash = hasher.hash(auth::random_token(16)); });
        return dummy_hash;
    }
};

/** The 429 for a throttled login, with Retry-After in whole seconds. */
http_response throttled(std::chrono::seconds wait)
{
    auto res = error_response(errc::rate_limited, "too many failed logins; try again in " +
                                                      std::to_string(wait.count()) + " seconds");
    res.set(http::field::retry_after, std::to_string(wait.count()));
    return res;
}

/** A new refresh token of `family_id`, stored hashed; returns the raw token. Blocking. */
store::result<std::string> issue_refresh_token(runtime& rt, std::string const& user_id,
                                               std::string const& family_id)
{
    auto token = auth::random_token(32);
    auto now = unix_now();
    store::refresh_token row{auth::sha256_hex(token), family_id, user_id, now,
                             now + rt.options.refresh_ttl.count()};
    if (auto r = rt.store->insert_refresh_token(row); !r)
        return r.error();
    return token;
}

/** What the blocking part of a login or a refresh hands out: the user, the login (refresh-token
 * family) and its new refresh token, or (a refresh only) that the presented token had been used
 * before. */
struct token_grant {
    std::string user_id;
    std::string family_id;
    std::string refresh_token; ///< empty when `reused`
    bool reused = false;
};

/** The login and refresh answer: a fresh access token naming the login (`sid` = the refresh-token
 * family, so a logout can end the sockets it opened) with the grant's refresh token. */
http_response token_pair(runtime const& rt, auth_service const& auth, token_grant const& grant)
{
    auto claims = auth::make_claims(grant.user_id, std::chrono::system_clock::now(), rt.options.access_ttl);
    claims.sid = grant.family_id;
    return json_response(http::status::ok, boost::json::object{{"access_token", auth.jwt.sign(claims)},
                                                               {"refresh_token", grant.refresh_token},
                                                               {"token_type", "bearer"},
                                                               {"expires_in", rt.options.access_ttl.count()}});
}

/** The `email` (as given) and `password` of a register or login body. */
struct email_password {
    std::string email;
    std::string password;
};

or_answer<email_password> email_and_password(http_request const& req)
{
    auto body = parse_json_object(req);
    if (!body)
        return body.take_answer();
    auto email = required_string(*body, "email");
    if (!email)
        return email.take_answer();
    auto password = required_string(*body, "password");
    if (!password)
        return password.take_answer();
    return email_password{std::move(*email), std::move(*password)};
}

/** The `refresh_token` of a refresh or logout body. */
or_answer<std::string> refresh_token_field(http_request const& req)
{
    auto body = parse_json_object(req);
    if (!body)
        return body.take_answer();
    return required_string(*body, "refresh_token");
}

// POST /api/auth/register {"email","password"} → 201 {"user_id"}
net::awaitable<http_response> register_user(request_context& ctx, runtime& rt, auth_service& auth)
{
    if (!rt.options.open_registration)
        co_return error_response(errc::registration_closed,
                                 "registration is closed on this relay; ask its operator for an account");
    auto given = email_and_password(ctx.req);
    if (!given) co_return given.take_answer();
    auto const& password = given->password;

    auto email = auth::normalize_email(given->email);
    if (!auth::is_valid_email(email))
        co_return error_response(errc::invalid_email);
    if (auto violation = auth::check_password_policy(password))
        co_return error_response(violation->code, violation->message);

    auto created = co_await run_blocking(rt.blocking, [&] {
        return rt.store->create_user(email, auth.passwords.hash(password), unix_now());
    });
    if (!created)
        co_return store_failure(created.error(), errc::email_taken);
    rt.log.info("user_registered", {{"user_id", created->id}});
    co_return json_response(http::status::created, boost::json::object{{"user_id", created->id}});
}

// POST /api/auth/login {"email","password"} → 200 token pair; 401 INVALID_CREDENTIALS; 429
net::awaitable<http_response> login(request_context& ctx, runtime& rt, auth_service& auth, auth_routes_state& self)
{
    auto given = email_and_password(ctx.req);
    if (!given) co_return given.take_answer();
    auto const& password = given->password;

    auto email = auth::normalize_email(given->email);
    // A malformed address cannot have an account; it also must not become a throttle key, which
    // would let a client grow the throttle's memory with long made-up keys.
    bool plausible = auth::is_valid_email(email);
    std::string const email_key = "email:" + email;
    std::string const addr_key = "addr:" + ctx.client_address;

    // Locked keys are refused before any KDF work, so a locked-out attacker costs nothing.
    auto now = auth::failure_throttle::clock::now();
    std::optional<std::chrono::seconds> wait = auth.address_failures.check(addr_key, now);
    if (plausible)
        if (auto w = auth.login_failures.check(email_key, now); w && (!wait || *w > *wait))
            wait = w;
    if (wait)
        co_return throttled(*wait);

    // Fails with errc::invalid_credentials, or a store failure. A wrong password for an account
    // that exists names the account, for its owner's audit trail.
    std::string failed_user_id;
    auto granted = co_await run_blocking(rt.blocking, [&]() -> store::result<token_grant> {
        if (!plausible)
            return errc::invalid_credentials;
        auto user = rt.store->find_user_by_email(email);
        if (!user) {
            if (user.error() == make_error_code(errc::user_not_found)) {
                (void)auth.passwords.verify(password, self.dummy(auth.passwords));
                return errc::invalid_credentials;
            }
            return user.error();
        }
        auto verdict = auth.passwords.verify(password, user->password_hash);
        if (!verdict.ok) {
            failed_user_id = user->id;
            return errc::invalid_credentials;
        }
        if (verdict.needs_rehash) {
            // Upgrade while we hold the plaintext; a failure here must not fail the login.
            if (auto r = rt.store->set_password_hash(user->id, auth.passwords.hash(password)); !r)
                rt.log.warn("password_rehash_failed", {{"user_id", user->id}});
        }
        auto family = auth::random_id("f_");
        if (!family)
            return family.error();
        auto token = issue_refresh_token(rt, user->id, *family);
        if (!token)
            return token.error();
        return token_grant{std::move(user->id), std::move(*family), std::move(*token)};
    });

    if (!granted) {
        if (granted.error() == make_error_code(errc::invalid_credentials)) {
            auth.address_failures.record_failure(addr_key, now);
            if (plausible)
                auth.login_failures.record_failure(email_key, now);
            rt.log.info("login_failed", {{"client", ctx.client_address}});
            // An email without an account is not recorded: it may be a typo of someone else's
            // address, and the trail is no list of who tried which address (docs/auth.md).
            if (failed_user_id.empty())
                record_audit(rt, ctx.client_address, {{}, "auth.login_failed", {}, {}, {{"reason", "unknown_account"}}});
            else
                record_audit(rt, ctx.client_address,
                             {failed_user_id, "auth.login_failed", {}, failed_user_id, {{"reason", "wrong_password"}}});
            co_return error_response(errc::invalid_credentials);
        }
        co_return store_failure(granted.error());
    }
    // Only the account's counter is cleared: clearing the address's would let an attacker who
    // owns one account reset the counter of the address they guess from.
    auth.login_failures.record_success(email_key);
    record_audit(rt, ctx.client_address, {granted->user_id, "auth.login"});
    co_return token_pair(rt, auth, *granted);
}

// POST /api/auth/refresh {"refresh_token"} → 200 a new pair; 401 for an unknown, expired,
// revoked or reused token (reuse also revokes the token's whole family).
net::awaitable<http_response> refresh(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto token = refresh_token_field(ctx.req);
    if (!token) co_return token.take_answer();

    auto granted = co_await run_blocking(rt.blocking, [&]() -> store::result<token_grant> {
        auto consumed = rt.store->consume_refresh_token(auth::sha256_hex(*token), unix_now());
        if (!consumed)
            return consumed.error();
        if (consumed->outcome == store::refresh_outcome::reuse_detected)
            return token_grant{std::move(consumed->user_id), std::move(consumed->family_id), {}, true};
        auto next = issue_refresh_token(rt, consumed->user_id, consumed->family_id);
        if (!next)
            return next.error();
        return token_grant{std::move(consumed->user_id), std::move(consumed->family_id), std::move(*next)};
    });
    if (!granted) {
        if (granted.error() == make_error_code(errc::unauthorized) ||
            granted.error() == make_error_code(errc::user_not_found))
            co_return error_response(errc::unauthorized,
                                     "the refresh token is invalid, expired or revoked; log in again");
        co_return store_failure(granted.error());
    }
    if (granted->reused) {
        // Two parties hold tokens of one login: one of them stole it. Neither keeps it, and as
        // the thief may have logged in elsewhere with what it learnt, no socket of the user stays.
        rt.log.warn("refresh_token_reuse", {{"user_id", granted->user_id}, {"client", ctx.client_address}});
        // The actor is whoever presented the token: the account's, as far as the relay knows.
        record_audit(rt, ctx.client_address, {granted->user_id, "auth.refresh_reuse", {}, granted->user_id});
        // The family itself by its sid, too: its newest access token may be from this very
        // second, which a user-wide end (whole seconds) does not reach.
        auth.end_login(granted->user_id, granted->family_id);
        auth.end_all_logins(granted->user_id);
        co_return error_response(errc::unauthorized,
                                 "this refresh token was already used; every token of this login is now revoked, "
                                 "log in again");
    }
    co_return token_pair(rt, auth, *granted);
}

// POST /api/auth/logout {"refresh_token"} → 204, also for unknown tokens (idempotent). The app
// sockets opened or renewed with this login close.
net::awaitable<http_response> logout(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto token = refresh_token_field(ctx.req);
    if (!token) co_return token.take_answer();
    // Revoking the newest token of a login ends the login: its older tokens are all used, and
    // presenting one of those now revokes the rest of the family anyway.
    auto revoked = co_await run_blocking(rt.blocking, [&] {
        return rt.store->revoke_refresh_token(auth::sha256_hex(*token));
    });
    if (!revoked)
        co_return store_failure(revoked.error());
    if (auto const& login = *revoked)
        auth.end_login(login->user_id, login->family_id);
    co_return empty_response(http::status::no_content);
}

// POST /api/auth/password-reset {"email"} → 202 whatever the email (no account enumeration).
net::awaitable<http_response> request_password_reset(request_context& ctx, runtime& rt, auth_routes_state& self)
{
    auto body = parse_json_object(ctx.req);
    if (!body) co_return body.take_answer();
    auto email_in = required_string(*body, "email");
    if (!email_in) co_return email_in.take_answer();

    auto email = auth::normalize_email(*email_in);
    auto accepted = boost::json::object{
        {"message", "if an account with this email exists, a password-reset token is on its way"}};
    if (!auth::is_valid_email(email))
        co_return json_response(http::status::accepted, accepted);
    // Counted before the lookup, for known and unknown addresses alike.
    auto now = auth::failure_throttle::clock::now();
    if (self.reset_requests.check("email:" + email, now)) {
        rt.log.info("password_reset_throttled", {{"client", ctx.client_address}});
        co_return json_response(http::status::accepted, accepted);
    }
    self.reset_requests.record_failure("email:" + email, now);

    auto sent = co_await run_blocking(rt.blocking, [&]() -> store::result<void> {
        auto user = rt.store->find_user_by_email(email);
        if (!user)
            return user.error() == make_error_code(errc::user_not_found) ? store::result<void>() : user.error();
        auto token = auth::random_token(32);
        if (auto r = rt.store->insert_reset_token(
                store::reset_token{auth::sha256_hex(token), user->id, unix_now() + reset_token_ttl}); !r)
            return r.error();
        try {
            self.notifier->send(user->email, token);
        } catch (std::exception const& e) {
            // Swallowed: a 500 here would reveal that the account exists.
            rt.log.error("password_reset_notify_failed", {{"what", e.what()}});
        }
        return {};
    });
    if (!sent) {
        // Still 202: an error status here would tell accounts apart. The operator sees the log.
        rt.log.error("password_reset_failed", {{"error", sent.error().message()}});
    }
    co_return json_response(http::status::accepted, accepted);
}

// POST /api/auth/password-reset/confirm {"token","new_password"} → 204; all refresh tokens of
// the user are revoked. 400 INVALID_TOKEN for an unknown, used or expired token.
net::awaitable<http_response> confirm_password_reset(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto body = parse_json_object(ctx.req);
    if (!body) co_return body.take_answer();
    auto token = required_string(*body, "token");
    if (!token) co_return token.take_answer();
    auto password = required_string(*body, "new_password");
    if (!password) co_return password.take_answer();
    // The policy is checked before the token is spent, so the user can retry with the same token.
    if (auto violation = auth::check_password_policy(*password))
        co_return error_response(violation->code, violation->message);

    struct reset_user {
        std::string id;
        std::string email;
    };
    auto done = co_await run_blocking(rt.blocking, [&]() -> store::result<reset_user> {
        auto user_id = rt.store->consume_reset_token(auth::sha256_hex(*token), unix_now());
        if (!user_id)
            return user_id.error();
        if (auto r = rt.store->set_password_hash(*user_id, auth.passwords.hash(*password)); !r)
            return r.error();
        // Whoever knew the old password may hold a login: every one of them ends now.
        if (auto r = rt.store->revoke_all_refresh_tokens(*user_id); !r)
            return r.error();
        auto user = rt.store->find_user_by_id(*user_id);
        if (!user)
            return user.error();
        return reset_user{std::move(*user_id), std::move(user->email)};
    });
    if (!done) {
        if (done.error() == make_error_code(errc::invalid_token))
            co_return error_response(errc::invalid_token, "the reset token is invalid, already used or expired");
        co_return store_failure(done.error());
    }
    // The sockets of those logins end with them.
    auth.end_all_logins(done->id);
    // The owner proved control of the account: a lockout from someone guessing ends too.
    auth.login_failures.record_success("email:" + done->email);
    rt.log.info("password_reset_done", {{"client", ctx.client_address}});
    // There is no change-password endpoint: a reset is how a password changes (docs/auth.md).
    record_audit(rt, ctx.client_address, {done->id, "auth.password_reset", {}, done->id});
    co_return empty_response(http::status::no_content);
}

} // namespace

void add_auth_routes(router& r, runtime& rt, auth_service& auth, std::shared_ptr<reset_notifier> notifier)
{
    auto self = std::make_shared<auth_routes_state>(std::move(notifier));
    r.add(http::verb::post, "/api/auth/register",
          [&rt, &auth](request_context& ctx) { return register_user(ctx, rt, auth); });
    r.add(http::verb::post, "/api/auth/login",
          [&rt, &auth, self](request_context& ctx) { return login(ctx, rt, auth, *self); });
    r.add(http::verb::post, "/api/auth/refresh", [&rt, &auth](request_context& ctx) { return refresh(ctx, rt, auth); });
    r.add(http::verb::post, "/api/auth/logout", [&rt, &auth](request_context& ctx) { return logout(ctx, rt, auth); });
    r.add(http::verb::post, "/api/auth/password-reset",
          [&rt, self](request_context& ctx) { return request_password_reset(ctx, rt, *self); });
    r.add(http::verb::post, "/api/auth/password-reset/confirm",
          [&rt, &auth](request_context& ctx) { return confirm_password_reset(ctx, rt, auth); });
}

} // namespace relay::server
