// Opening the PostgreSQL store and the plumbing every operation shares: attempts with their
// error mapping and retries, the statement registry, the health check and snapshots. The
// operations themselves are in pg_accounts.cpp, pg_devices.cpp and pg_sessions.cpp.
#include "store/pg_store.hpp"

#include "store/backends.hpp"
#include "store/pg_records.hpp"
#include "store/pg_schema.hpp"

#include <chrono>

namespace relay::store::detail {
namespace {

open_error make_open_error(errc code, std::string message)
{
    return open_error{make_error_code(code), std::move(message)};
}

// Failures that go away when the server is reachable again (or less busy) are `unavailable`,
// answered 503; anything else means a bug or a damaged database and is `internal`.
errc classify(pg::failure const& f) noexcept
{
    std::string_view const s = f.sqlstate;
    if (f.connection_lost || pg::is_connection_failure(s))
        return errc::unavailable;
    if (s == "57014" /* statement timeout */ || s == "25006" /* read-only */ || s.starts_with("53") /* resources */ ||
        s == "40001" || s == "40P01" /* conflicts still failing after the retries */ ||
        s == "25P03" /* idle-in-transaction timeout */ || s == "55P03" /* lock not available */)
        return errc::unavailable;
    return errc::internal;
}

pg::server_address address_of(std::string_view url)
{
    return pg::server_address{std::string(url), redact_location(url)};
}

// One connection outside any pool, for the admin commands and open's migration.
result<pg::connection> connect_once(pg::server_address const& address, store_options const& options,
                                    std::string& why)
{
    auto conn = pg::connect(address, options, why);
    if (!conn) {
        why = "PostgreSQL at " + address.redacted + " is unreachable: " + why;
        return errc::unavailable;
    }
    return pg::connection(std::move(conn));
}

unix_seconds wall_clock_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

pg_store::pg_store(pg::server_address address, store_options const& options)
    : log_(options.log ? options.log : &fallback_log_.emplace(telemetry::log_level::warn)),
      pool_(std::move(address), options, *log_)
{
}

boost::system::result<std::unique_ptr<store>, open_error> pg_store::open(std::string_view url,
                                                                       store_options const& options)
{
    auto address = address_of(url);
    if (url.find('\0') != std::string_view::npos)
        return make_open_error(errc::unavailable, "the database URL contains a NUL character");
    std::unique_ptr<pg_store> s(new pg_store(address, options));
    std::string why;
    // The schema is checked (and migrated) on a connection of its own: the advisory lock is
    // held by a session, and must not travel with a pooled connection.
    auto conn = connect_once(address, options, why);
    if (!conn)
        return make_open_error(errc::unavailable, "cannot open the database: " + why);
    auto status = pg::migrate(*conn, options.migrate, *s->log_, why);
    if (!status)
        return make_open_error(status.error() == errc::unavailable ? errc::unavailable : errc::internal,
                               "cannot use the database " + address.redacted + ": " + why);
    return std::unique_ptr<store>(std::move(s));
}

std::size_t pg_store::statement_id(char const* sql)
{
    std::lock_guard lock(registry_mutex_);
    auto [it, added] = statements_.try_emplace(std::string_view(sql), statements_.size());
    return it->second;
}

pg_store::attempt::~attempt()
{
    if (!in_transaction_ || conn_->bad())
        return;
    pg::failure ignored;
    if (!conn_->run_simple("ROLLBACK", ignored))
        store_.log_->error("store.rollback_failed", {{"message", std::string_view(ignored.message)}});
}

boost::system::error_code pg_store::attempt::fail(pg::failure const& why,
                                                  std::initializer_list<on_sqlstate> expected)
{
    last_message_ = why.message;
    for (auto const& e : expected)
        if (why.sqlstate == e.sqlstate && (!e.constraint || why.constraint == e.constraint))
            return make_error_code(e.answer);
    if (why.sqlstate == "40001" || why.sqlstate == "40P01")
        retry_ = retry::conflict;
    else if (why.connection_lost)
        // Retried only when nothing can have been committed: a lost COMMIT may have succeeded.
        retry_ = maybe_committed_ || committing_ ? retry::none : retry::reconnect;
    if (why.connection_lost)
        in_transaction_ = false; // the server rolled it back with the session
    errc const code = classify(why);
    // Never the parameters: they may hold password hashes or tokens.
    store_.log_->log(code == errc::unavailable ? telemetry::log_level::warn : telemetry::log_level::error,
                     "store.postgresql_failed",
                     {{"operation", operation_},
                      {"sqlstate", std::string_view(why.sqlstate)},
                      {"message", std::string_view(why.message)}});
    return make_error_code(code);
}

result<pg::rows> pg_store::attempt::run(char const* sql, std::initializer_list<pg::param> params,
                                        std::initializer_list<on_sqlstate> expected)
{
    // An INSERT or DELETE outside a transaction commits by itself: once sent, a lost
    // connection leaves unknown whether it happened, so it is not retried.
    std::string_view const text(sql);
    if (!in_transaction_ && (text.starts_with("INSERT") || text.starts_with("DELETE")))
        maybe_committed_ = true;
    pg::failure why;
    auto rows = conn_->run_prepared(store_.statement_id(sql), sql, params, why);
    if (!rows)
        return fail(why, expected);
    return std::move(*rows);
}

result<std::int64_t> pg_store::attempt::change(char const* sql, std::initializer_list<pg::param> params,
                                               std::initializer_list<on_sqlstate> expected)
{
    auto rows = run(sql, params, expected);
    if (!rows)
        return rows.error();
    return rows->affected();
}

result<void> pg_store::attempt::change_one(errc missing, char const* sql, std::initializer_list<pg::param> params)
{
    auto changed = change(sql, params);
    if (!changed)
        return changed.error();
    if (*changed == 0)
        return missing;
    return {};
}

result<void> pg_store::attempt::require_row(errc missing, char const* sql, std::initializer_list<pg::param> params)
{
    auto rows = run(sql, params);
    if (!rows)
        return rows.error();
    if (rows->empty())
        return missing;
    return {};
}

result<void> pg_store::attempt::begin(char const* sql)
{
    pg::failure why;
    if (!conn_->run_simple(sql, why))
        return fail(why, {});
    in_transaction_ = true;
    return {};
}

result<void> pg_store::attempt::commit()
{
    committing_ = true;
    pg::failure why;
    auto done = conn_->run_simple("COMMIT", why);
    committing_ = false;
    if (!done) {
        in_transaction_ = !why.connection_lost;
        committing_ = true; // keeps a lost COMMIT from being retried
        return fail(why, {});
    }
    in_transaction_ = false;
    // COMMIT of a transaction that failed earlier answers ROLLBACK without an error.
    if (done->command() == "ROLLBACK") {
        last_message_ = "the transaction had failed and was rolled back";
        return errc::internal;
    }
    return {};
}

result<void> pg_store::purge_expired(unix_seconds now)
{
    if (now < next_purge_.load(std::memory_order_relaxed))
        return {};
    // On its own, not in the caller's transaction: an operation that fails and rolls back must
    // not undo the purge.
    auto purged = with_retries("purge_expired", [&](attempt& a) -> result<void> {
        if (auto r = a.run("DELETE FROM refresh_tokens WHERE expires_at <= $1", {now}); !r)
            return r.error();
        if (auto r = a.run("DELETE FROM reset_tokens WHERE expires_at <= $1", {now}); !r)
            return r.error();
        return {};
    });
    if (purged)
        next_purge_.store(now + 60, std::memory_order_relaxed);
    return purged;
}

result<void> pg_store::lock_user(attempt& a, std::string_view user_id, errc missing)
{
    // NO KEY UPDATE: serializes token changes of this user without blocking the foreign-key
    // checks of rows that merely reference the user.
    return a.require_row(missing, "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", {user_id});
}

result<void> pg_store::lock_device(attempt& a, std::string_view device_id)
{
    return a.require_row(errc::device_not_found, "SELECT 1 FROM devices WHERE device_id = $1 FOR NO KEY UPDATE",
                         {device_id});
}

boost::system::result<void, health_problem> pg_store::check()
{
    auto const& server = pool_.address().redacted;
    std::string why;
    auto lease = pool_.acquire(why);
    if (!lease)
        return health_problem{lease.error(), "PostgreSQL at " + server + " is unreachable: " + why};
    attempt a(*this, *lease, "check");
    auto problem = [&](boost::system::error_code code, std::string what) {
        if (a.wants_retry() == retry::reconnect)
            lease->discard(true);
        return health_problem{code, "PostgreSQL at " + server + " " + what + ": " + a.last_message()};
    };
    // A real write in its own transaction: a read-only server or a full disk fails here as it
    // would for a login. `checks` makes every check change the row.
    if (auto r = a.begin(); !r)
        return problem(r.error(), "is unreachable");
    if (auto r = a.run("INSERT INTO health (id, checked_at, checks) VALUES (1, $1, 1) "
                       "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, "
                       "checks = health.checks + 1",
                       {wall_clock_now()});
        !r)
        return problem(r.error(), "refuses writes");
    if (auto r = a.commit(); !r)
        return problem(r.error(), "refuses writes");
    auto version = a.run("SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (!version)
        return problem(version.error(), "cannot be read");
    if (auto v = version->int64(0, 0); v != pg::known_version()) {
        log_->error("store.schema_changed", {{"version", v}, {"expected", pg::known_version()}});
        return health_problem{make_error_code(errc::internal), "the database schema changed to version " +
                                                                   std::to_string(v) + " under the relay"};
    }
    return {};
}

result<snapshot> pg_store::export_snapshot()
{
    return with_retries("export_snapshot", [&](attempt& a) -> result<snapshot> {
        // One snapshot of the whole database: rows written meanwhile are either all in or all out.
        if (auto r = a.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r)
            return r.error();
        snapshot out;
        auto users = a.run("SELECT " RELAY_PG_USER_COLUMNS " FROM users ORDER BY created_at, id");
        if (!users)
            return users.error();
        out.users = pg::read_all(*users, pg::read_user);
        auto tokens = a.run("SELECT token_hash, family_id, user_id, issued_at, expires_at, used, revoked "
                            "FROM refresh_tokens ORDER BY issued_at, token_hash");
        if (!tokens)
            return tokens.error();
        for (int i = 0; i < tokens->size(); ++i)
            out.refresh_tokens.push_back(refresh_token{tokens->text(i, 0), tokens->text(i, 1), tokens->text(i, 2),
                                                       tokens->int64(i, 3), tokens->int64(i, 4),
                                                       tokens->boolean(i, 5), tokens->boolean(i, 6)});
        auto resets = a.run("SELECT token_hash, user_id, expires_at, used FROM reset_tokens ORDER BY token_hash");
        if (!resets)
            return resets.error();
        for (int i = 0; i < resets->size(); ++i)
            out.reset_tokens.push_back(
                reset_token{resets->text(i, 0), resets->text(i, 1), resets->int64(i, 2), resets->boolean(i, 3)});
        auto devices = a.run("SELECT " RELAY_PG_DEVICE_COLUMNS " FROM devices d ORDER BY d.device_id");
        if (!devices)
            return devices.error();
        out.devices = pg::read_all(*devices, pg::read_device);
        auto members = a.run("SELECT device_id, user_id, role FROM memberships ORDER BY device_id, user_id");
        if (!members)
            return members.error();
        for (int i = 0; i < members->size(); ++i) {
            auto access = role_from_number(members->int64(i, 2));
            if (!access)
                return errc::internal;
            out.memberships.push_back(membership{members->text(i, 0), members->text(i, 1), *access});
        }
        auto sessions = a.run("SELECT " RELAY_PG_SESSION_COLUMNS " FROM webrtc_sessions ORDER BY seq");
        if (!sessions)
            return sessions.error();
        out.sessions = pg::read_all(*sessions, pg::read_session);
        if (auto r = a.commit(); !r)
            return r.error();
        return out;
    });
}

result<void> pg_store::import_snapshot(snapshot const& rows, import_mode mode)
{
    return with_retries("import_snapshot", [&](attempt& a) -> result<void> {
        if (auto r = a.begin(); !r)
            return r;
        if (mode == import_mode::replace) {
            // Children first; the health row and the schema record stay.
            for (char const* sql : {"DELETE FROM webrtc_sessions", "DELETE FROM memberships", "DELETE FROM devices",
                                    "DELETE FROM reset_tokens", "DELETE FROM refresh_tokens", "DELETE FROM users"})
                if (auto r = a.run(sql); !r)
                    return r.error();
        } else {
            auto used = a.run("SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM devices) OR "
                              "EXISTS (SELECT 1 FROM refresh_tokens) OR EXISTS (SELECT 1 FROM reset_tokens)");
            if (!used)
                return used.error();
            if (used->boolean(0, 0))
                return errc::forbidden;
        }
        for (auto const& u : rows.users)
            if (auto r = a.run("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
                               {u.id, u.email, u.password_hash, u.created_at});
                !r)
                return r.error();
        for (auto const& t : rows.refresh_tokens)
            if (auto r = a.run("INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at, "
                               "used, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                               {t.token_hash, t.family_id, t.user_id, t.issued_at, t.expires_at, t.used, t.revoked});
                !r)
                return r.error();
        for (auto const& t : rows.reset_tokens)
            if (auto r = a.run("INSERT INTO reset_tokens (token_hash, user_id, expires_at, used) "
                               "VALUES ($1, $2, $3, $4)",
                               {t.token_hash, t.user_id, t.expires_at, t.used});
                !r)
                return r.error();
        for (auto const& d : rows.devices)
            if (auto r = a.run("INSERT INTO devices (device_id, name, secret_sealed, created_at, last_seen, "
                               "capabilities, firmware, key_type, public_key) "
                               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                               {d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen, d.capabilities,
                                d.firmware, d.key_type, d.public_key});
                !r)
                return r.error();
        for (auto const& m : rows.memberships)
            if (auto r = a.run("INSERT INTO memberships (device_id, user_id, role) VALUES ($1, $2, $3)",
                               {m.device_id, m.user_id, m.access});
                !r)
                return r.error();
        // In the given order: `seq` then orders sessions of the same second as the source did.
        for (auto const& s : rows.sessions)
            if (auto r = a.run("INSERT INTO webrtc_sessions (session_id, device_id, user_id, started_at, "
                               "connected_at, ended_at, connection_type, end_reason, rtt_ms) "
                               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                               {s.session_id, s.device_id, s.user_id, s.started_at, s.connected_at, s.ended_at,
                                s.connection_type, s.end_reason, s.rtt_ms});
                !r)
                return r.error();
        return a.commit();
    });
}

} // namespace relay::store::detail

namespace relay::store::detail {

open_result open_postgresql(std::string_view url, store_options const& options)
{
    return pg_store::open(url, options);
}

namespace {

// Connects once to `url` and runs `step(connection, why)` (which returns a schema_status result);
// `doing` says what failed in the message.
template <class Step>
status_result with_one_connection(std::string_view url, store_options const& options, std::string_view doing,
                                  Step step)
{
    auto address = address_of(url);
    std::string why;
    auto conn = connect_once(address, options, why);
    if (!conn)
        return make_open_error(errc::unavailable, why);
    auto status = step(*conn, why);
    if (!status)
        return make_open_error(status.error() == errc::unavailable ? errc::unavailable : errc::internal,
                               std::string(doing) + " " + address.redacted + ": " + why);
    return std::move(*status);
}

} // namespace

status_result postgresql_schema_status(std::string_view url, store_options const& options)
{
    return with_one_connection(url, options, "cannot read the schema of",
                               [](pg::connection& conn, std::string& why) { return pg::read_status(conn, why); });
}

status_result postgresql_migrate(std::string_view url, store_options const& options)
{
    telemetry::logger fallback(telemetry::log_level::warn);
    auto& log = options.log ? *options.log : fallback;
    return with_one_connection(url, options, "cannot migrate", [&](pg::connection& conn, std::string& why) {
        return pg::migrate(conn, true, log, why);
    });
}

} // namespace relay::store::detail
