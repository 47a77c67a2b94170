// Users, refresh tokens and password-reset tokens on SQLite.
#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

#include <relay/auth/crypto.hpp>

namespace relay::store::detail {

result<user> sqlite_store::create_user(std::string_view email, std::string_view password_hash, unix_seconds now)
{
    auto id = auth::random_id("u_");
    if (!id)
        return id.error();
    std::lock_guard lock(mutex_);
    // The only UNIQUE constraint besides the random 128-bit id is the email.
    if (auto r = insert("create_user", {{SQLITE_CONSTRAINT_UNIQUE, errc::email_taken}},
                        "INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)", *id, email,
                        password_hash, now);
        !r)
        return r.error();
    return user{std::move(*id), std::string(email), std::string(password_hash), now};
}

result<user> sqlite_store::find_user_by_email(std::string_view email)
{
    std::lock_guard lock(mutex_);
    return read_row("find_user_by_email", errc::user_not_found,
                    "SELECT " RELAY_USER_COLUMNS " FROM users WHERE email = ?", read_user, email);
}

result<user> sqlite_store::find_user_by_id(std::string_view user_id)
{
    std::lock_guard lock(mutex_);
    return read_row("find_user_by_id", errc::user_not_found, "SELECT " RELAY_USER_COLUMNS " FROM users WHERE id = ?",
                    read_user, user_id);
}

result<std::vector<user>> sqlite_store::list_users()
{
    std::lock_guard lock(mutex_);
    return read_rows("list_users", "SELECT " RELAY_USER_COLUMNS " FROM users ORDER BY created_at, id", read_user);
}

result<void> sqlite_store::set_password_hash(std::string_view user_id, std::string_view password_hash)
{
    std::lock_guard lock(mutex_);
    return change_row("set_password_hash", errc::user_not_found, "UPDATE users SET password_hash = ? WHERE id = ?",
                      password_hash, user_id);
}

result<void> sqlite_store::insert_refresh_token(refresh_token const& token)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_token_write(token.issued_at);
    if (!tx)
        return tx.error();
    if (auto known = require_row("insert_refresh_token", errc::user_not_found, "SELECT 1 FROM users WHERE id = ?",
                                 token.user_id);
        !known)
        return known;
    // A family is dead once any of its tokens is revoked: a rotation that raced with a logout
    // or a reuse detection must not bring it back to life.
    auto revoked = exists("insert_refresh_token",
                          "SELECT 1 FROM refresh_tokens WHERE family_id = ? AND revoked = 1 LIMIT 1", token.family_id);
    if (!revoked)
        return revoked.error();
    if (*revoked)
        return errc::unauthorized;
    auto inserted = run("insert_refresh_token",
                        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        token.token_hash, token.family_id, token.user_id, token.issued_at, token.expires_at);
    if (!inserted)
        return inserted;
    return tx->commit();
}

result<consumed_refresh_token> sqlite_store::consume_refresh_token(std::string_view token_hash, unix_seconds now)
{
    std::lock_guard lock(mutex_);
    // One transaction: two requests presenting the same token must not both get a new one.
    auto tx = begin_token_write(now);
    if (!tx)
        return tx.error();
    consumed_refresh_token consumed;
    unix_seconds expires_at = 0;
    bool used = false;
    bool revoked = false;
    auto found = one_row(
        "consume_refresh_token",
        "SELECT user_id, family_id, expires_at, used, revoked FROM refresh_tokens WHERE token_hash = ?",
        [&](statement const& st) {
            consumed.user_id = st.text(0);
            consumed.family_id = st.text(1);
            expires_at = st.int64(2);
            used = st.int64(3) != 0;
            revoked = st.int64(4) != 0;
        },
        token_hash);
    if (!found)
        return found.error();
    if (!*found || revoked || now >= expires_at)
        return errc::unauthorized;

    if (used) {
        // Someone holds a token that was already exchanged: the login is compromised.
        auto r = exec("consume_refresh_token", "UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?",
                      consumed.family_id);
        if (!r)
            return r.error();
        consumed.outcome = refresh_outcome::reuse_detected;
    } else {
        auto r = exec("consume_refresh_token", "UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?", token_hash);
        if (!r)
            return r.error();
        consumed.outcome = refresh_outcome::rotated;
    }
    if (auto r = tx->commit(); !r)
        return r.error();
    return consumed;
}

result<std::optional<refresh_login>> sqlite_store::revoke_refresh_token(std::string_view token_hash)
{
    std::lock_guard lock(mutex_);
    refresh_login login;
    auto found = one_row(
        "revoke_refresh_token", "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = ?",
        [&](statement const& st) {
            login.user_id = st.text(0);
            login.family_id = st.text(1);
        },
        token_hash);
    if (!found)
        return found.error();
    if (!*found)
        return std::optional<refresh_login>();
    if (auto r = run("revoke_refresh_token", "UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = ?", token_hash);
        !r)
        return r.error();
    return std::optional<refresh_login>(std::move(login));
}

result<void> sqlite_store::revoke_family(std::string_view family_id)
{
    std::lock_guard lock(mutex_);
    return run("revoke_family", "UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?", family_id);
}

result<void> sqlite_store::revoke_all_refresh_tokens(std::string_view user_id)
{
    std::lock_guard lock(mutex_);
    return run("revoke_all_refresh_tokens", "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?", user_id);
}

result<void> sqlite_store::insert_reset_token(reset_token const& token)
{
    std::lock_guard lock(mutex_);
    // The user is the row's only reference.
    return insert("insert_reset_token", {{SQLITE_CONSTRAINT_FOREIGNKEY, errc::user_not_found}},
                  "INSERT INTO reset_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)", token.token_hash,
                  token.user_id, token.expires_at);
}

result<std::string> sqlite_store::consume_reset_token(std::string_view token_hash, unix_seconds now)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_token_write(now);
    if (!tx)
        return tx.error();
    std::string user_id;
    unix_seconds expires_at = 0;
    bool used = false;
    auto found = one_row(
        "consume_reset_token", "SELECT user_id, expires_at, used FROM reset_tokens WHERE token_hash = ?",
        [&](statement const& st) {
            user_id = st.text(0);
            expires_at = st.int64(1);
            used = st.int64(2) != 0;
        },
        token_hash);
    if (!found)
        return found.error();
    if (!*found || used || now >= expires_at)
        return errc::invalid_token;
    // The password is about to change: older reset links of the same user must die with it.
    auto r = exec("consume_reset_token", "UPDATE reset_tokens SET used = 1 WHERE user_id = ?", user_id);
    if (!r)
        return r.error();
    if (auto c = tx->commit(); !c)
        return c.error();
    return user_id;
}

} // namespace relay::store::detail

#undef RELAY_USER_COLUMNS
