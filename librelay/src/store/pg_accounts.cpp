// Users, refresh tokens and password-reset tokens on PostgreSQL.
#include "store/pg_store.hpp"
#include "store/pg_records.hpp"

#include <relay/auth/crypto.hpp>

namespace relay::store::detail {

result<user> pg_store::create_user(std::string_view email, std::string_view password_hash, unix_seconds now)
{
    auto id = auth::random_id("u_");
    if (!id)
        return id.error();
    return with_retries("create_user", [&](attempt& a) -> result<user> {
        // The only UNIQUE constraint besides the random 128-bit id is the email.
        auto r = a.run("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
                       {*id, email, password_hash, now}, {{"23505", errc::email_taken}});
        if (!r)
            return r.error();
        return user{*id, std::string(email), std::string(password_hash), now};
    });
}

result<user> pg_store::find_user(std::string_view operation, char const* sql, std::string_view key)
{
    return with_retries(operation, [&](attempt& a) -> result<user> {
        auto rows = a.run(sql, {key});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return errc::user_not_found;
        return pg::read_user(*rows, 0);
    });
}

result<user> pg_store::find_user_by_email(std::string_view email)
{
    return find_user("find_user_by_email", "SELECT " RELAY_PG_USER_COLUMNS " FROM users WHERE email = $1", email);
}

result<user> pg_store::find_user_by_id(std::string_view user_id)
{
    return find_user("find_user_by_id", "SELECT " RELAY_PG_USER_COLUMNS " FROM users WHERE id = $1", user_id);
}

result<std::vector<user>> pg_store::list_users()
{
    return with_retries("list_users", [&](attempt& a) -> result<std::vector<user>> {
        auto rows = a.run("SELECT " RELAY_PG_USER_COLUMNS " FROM users ORDER BY created_at, id");
        if (!rows)
            return rows.error();
        return pg::read_all(*rows, pg::read_user);
    });
}

result<void> pg_store::set_password_hash(std::string_view user_id, std::string_view password_hash)
{
    return with_retries("set_password_hash", [&](attempt& a) -> result<void> {
        return a.change_one(errc::user_not_found,
                            "UPDATE users SET password_hash = $1 WHERE id = $2", {password_hash, user_id});
    });
}

result<void> pg_store::insert_refresh_token(refresh_token const& token)
{
    if (auto r = purge_expired(token.issued_at); !r)
        return r;
    return with_retries("insert_refresh_token", [&](attempt& a) -> result<void> {
        if (auto r = a.begin(); !r)
            return r;
        // Under the user's lock, a revocation of the family cannot slip in between the check
        // and the insert: a rotation that raced with a logout or a reuse detection must not
        // bring the family back to life.
        if (auto r = lock_user(a, token.user_id, errc::user_not_found); !r)
            return r;
        auto revoked = a.run("SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked LIMIT 1",
                             {token.family_id});
        if (!revoked)
            return revoked.error();
        if (!revoked->empty())
            return errc::unauthorized;
        if (auto r = a.run("INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at) "
                           "VALUES ($1, $2, $3, $4, $5)",
                           {token.token_hash, token.family_id, token.user_id, token.issued_at, token.expires_at});
            !r)
            return r.error();
        return a.commit();
    });
}

result<consumed_refresh_token> pg_store::consume_refresh_token(std::string_view token_hash, unix_seconds now)
{
    if (auto r = purge_expired(now); !r)
        return r.error();
    return with_retries("consume_refresh_token", [&](attempt& a) -> result<consumed_refresh_token> {
        if (auto r = a.begin(); !r)
            return r.error();
        auto owner = a.run("SELECT user_id FROM refresh_tokens WHERE token_hash = $1", {token_hash});
        if (!owner)
            return owner.error();
        if (owner->empty())
            return errc::unauthorized;
        if (auto r = lock_user(a, owner->text(0, 0), errc::unauthorized); !r)
            return r.error();
        // Read again under the lock: two requests presenting the same token get one rotation
        // and one reuse detection, never two rotations.
        auto row = a.run("SELECT user_id, family_id, expires_at, used, revoked FROM refresh_tokens "
                         "WHERE token_hash = $1",
                         {token_hash});
        if (!row)
            return row.error();
        if (row->empty() || row->boolean(0, 4) || now >= row->int64(0, 2))
            return errc::unauthorized;
        consumed_refresh_token consumed;
        consumed.user_id = row->text(0, 0);
        consumed.family_id = row->text(0, 1);
        if (row->boolean(0, 3)) {
            // Someone holds a token that was already exchanged: the login is compromised.
            if (auto r = a.run("UPDATE refresh_tokens SET revoked = true WHERE family_id = $1", {consumed.family_id});
                !r)
                return r.error();
            consumed.outcome = refresh_outcome::reuse_detected;
        } else {
            if (auto r = a.run("UPDATE refresh_tokens SET used = true WHERE token_hash = $1", {token_hash}); !r)
                return r.error();
            consumed.outcome = refresh_outcome::rotated;
        }
        if (auto r = a.commit(); !r)
            return r.error();
        return consumed;
    });
}

result<std::optional<refresh_login>> pg_store::revoke_refresh_token(std::string_view token_hash)
{
    return with_retries("revoke_refresh_token", [&](attempt& a) -> result<std::optional<refresh_login>> {
        if (auto r = a.begin(); !r)
            return r.error();
        auto row = a.run("SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1", {token_hash});
        if (!row)
            return row.error();
        if (row->empty())
            return std::optional<refresh_login>();
        refresh_login login{row->text(0, 0), row->text(0, 1)};
        if (auto r = lock_user(a, login.user_id, errc::internal); !r)
            return r.error();
        if (auto r = a.run("UPDATE refresh_tokens SET revoked = true WHERE token_hash = $1", {token_hash}); !r)
            return r.error();
        if (auto r = a.commit(); !r)
            return r.error();
        return std::optional<refresh_login>(std::move(login));
    });
}

result<void> pg_store::revoke_family(std::string_view family_id)
{
    return with_retries("revoke_family", [&](attempt& a) -> result<void> {
        if (auto r = a.begin(); !r)
            return r;
        // A family belongs to one user: lock it as every other token change does.
        if (auto r = a.run("SELECT 1 FROM users WHERE id IN (SELECT user_id FROM refresh_tokens WHERE family_id = $1) "
                           "FOR NO KEY UPDATE",
                           {family_id});
            !r)
            return r.error();
        if (auto r = a.run("UPDATE refresh_tokens SET revoked = true WHERE family_id = $1", {family_id}); !r)
            return r.error();
        return a.commit();
    });
}

result<void> pg_store::revoke_all_refresh_tokens(std::string_view user_id)
{
    return with_retries("revoke_all_refresh_tokens", [&](attempt& a) -> result<void> {
        if (auto r = a.begin(); !r)
            return r;
        if (auto r = lock_user(a, user_id, errc::user_not_found); !r)
            return r.error() == errc::user_not_found ? result<void>() : r; // nothing to revoke
        if (auto r = a.run("UPDATE refresh_tokens SET revoked = true WHERE user_id = $1", {user_id}); !r)
            return r.error();
        return a.commit();
    });
}

result<void> pg_store::insert_reset_token(reset_token const& token)
{
    return with_retries("insert_reset_token", [&](attempt& a) -> result<void> {
        // The user is the row's only reference.
        auto r = a.run("INSERT INTO reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
                       {token.token_hash, token.user_id, token.expires_at}, {{"23503", errc::user_not_found}});
        if (!r)
            return r.error();
        return {};
    });
}

result<std::string> pg_store::consume_reset_token(std::string_view token_hash, unix_seconds now)
{
    if (auto r = purge_expired(now); !r)
        return r.error();
    return with_retries("consume_reset_token", [&](attempt& a) -> result<std::string> {
        if (auto r = a.begin(); !r)
            return r.error();
        // FOR UPDATE: a second request with the same token waits, then sees it used.
        auto row = a.run("SELECT user_id, expires_at, used FROM reset_tokens WHERE token_hash = $1 FOR UPDATE",
                         {token_hash});
        if (!row)
            return row.error();
        if (row->empty() || row->boolean(0, 2) || now >= row->int64(0, 1))
            return errc::invalid_token;
        std::string user_id = row->text(0, 0);
        // The password is about to change: older reset links of the same user must die with it.
        if (auto r = a.run("UPDATE reset_tokens SET used = true WHERE user_id = $1", {user_id}); !r)
            return r.error();
        if (auto r = a.commit(); !r)
            return r.error();
        return user_id;
    });
}

} // namespace relay::store::detail

