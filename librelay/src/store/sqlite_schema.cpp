#include "store/sqlite_schema.hpp"

#include <relay/protocol/errc.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

namespace relay::store::detail {
namespace {

// Version 1: the first schema. Tables are STRICT so a value of the wrong type is an error, as
// it would be in PostgreSQL. Deleting a device deletes its memberships and its session history;
// users are never deleted by the relay yet, so their references are plain (NO ACTION), except
// for tokens, which are worthless without their user.
constexpr char const* version_1 = R"sql(
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);

CREATE TABLE reset_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
) STRICT;
CREATE INDEX reset_tokens_user ON reset_tokens(user_id);
CREATE INDEX reset_tokens_expiry ON reset_tokens(expires_at);

CREATE TABLE devices (
    device_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen     INTEGER,
    capabilities  TEXT NOT NULL DEFAULT '',
    firmware      TEXT
) STRICT;

CREATE TABLE memberships (
    device_id TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users(id),
    role      INTEGER NOT NULL CHECK (role IN (1, 2, 3)),
    PRIMARY KEY (device_id, user_id)
) STRICT, WITHOUT ROWID;
-- Exactly one owner per device: at most one here, at least one because the owner is added with
-- the device and the store refuses to remove or demote it.
CREATE UNIQUE INDEX memberships_one_owner ON memberships(device_id) WHERE role = 3;
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE webrtc_sessions (
    session_id      TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id),
    started_at      INTEGER NOT NULL,
    connected_at    INTEGER,
    ended_at        INTEGER,
    connection_type TEXT,
    end_reason      TEXT,
    rtt_ms          INTEGER
) STRICT;
CREATE INDEX webrtc_sessions_device ON webrtc_sessions(device_id, started_at);
CREATE INDEX webrtc_sessions_open ON webrtc_sessions(session_id) WHERE ended_at IS NULL;
CREATE INDEX webrtc_sessions_user ON webrtc_sessions(user_id);
)sql";

// Version 2: one row that GET /health rewrites, so the health check exercises a real write.
// `checks` changes every time: SQLite skips writing a row whose bytes did not change.
constexpr char const* version_2 = R"sql(
CREATE TABLE health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL,
    checks     INTEGER NOT NULL
) STRICT;
)sql";

// Version 3: a row per applied step, so that a person (or `relayd db status`) sees what was
// applied when. user_version stays the number the relay checks; the steps before this one are
// recorded by the migration code, without a time when they were applied by an older relay.
constexpr char const* version_3 = R"sql(
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER
) STRICT;
)sql";

// Version 4: device keys (docs/auth.md "Device keys"). A device authenticates with its sealed
// secret or, when key_type is 'ed25519', with the public key alone (secret_sealed then empty).
// Existing rows are secret devices, as they were.
constexpr char const* version_4 = R"sql(
ALTER TABLE devices ADD COLUMN key_type TEXT NOT NULL DEFAULT 'secret' CHECK (key_type IN ('secret', 'ed25519'));
ALTER TABLE devices ADD COLUMN public_key TEXT NOT NULL DEFAULT '';
)sql";

constexpr std::array<sqlite_step, 4> steps{{
    {"accounts, tokens, devices, memberships, session history", version_1},
    {"health check row", version_2},
    {"schema_migrations table", version_3},
    {"device keys", version_4},
}};

/** A prepared statement finalized at scope exit. */
struct statement_owner {
    sqlite3_stmt* stmt = nullptr;
    statement_owner() = default;
    statement_owner(statement_owner const&) = delete;
    statement_owner& operator=(statement_owner const&) = delete;
    ~statement_owner() { sqlite3_finalize(stmt); }
};

/** Runs `sql` and calls `on_row(stmt)` for each row; false with `why` set on failure. */
template <class F> bool query(sqlite3* db, char const* sql, std::string& why, F&& on_row)
{
    statement_owner st;
    if (sqlite3_prepare_v2(db, sql, -1, &st.stmt, nullptr) != SQLITE_OK) {
        why = sqlite3_errmsg(db);
        return false;
    }
    for (;;) {
        int rc = sqlite3_step(st.stmt);
        if (rc == SQLITE_DONE)
            return true;
        if (rc != SQLITE_ROW) {
            why = sqlite3_errmsg(db);
            return false;
        }
        on_row(st.stmt);
    }
}

std::string column_text(sqlite3_stmt* st, int col)
{
    auto const* text = reinterpret_cast<char const*>(sqlite3_column_text(st, col));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(st, col))) : std::string();
}

} // namespace

std::span<sqlite_step const> sqlite_migrations() noexcept
{
    return steps;
}

boost::system::result<schema_status> read_sqlite_status(sqlite3* db, std::string& why)
{
    schema_status status;
    status.backend = "sqlite";
    status.known = sqlite_known_version();
    auto failed = [] { return make_error_code(errc::internal); };

    // One read transaction: a migrator elsewhere cannot change the version between the reads.
    if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
        why = sqlite3_errmsg(db);
        return failed();
    }
    struct end_read {
        sqlite3* db;
        ~end_read() { sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr); }
    } end{db};

    if (!query(db, "PRAGMA user_version", why, [&](sqlite3_stmt* st) { status.current = sqlite3_column_int64(st, 0); }))
        return failed();
    std::int64_t application_id = 0, tables = 0;
    if (!query(db, "PRAGMA application_id", why, [&](sqlite3_stmt* st) { application_id = sqlite3_column_int64(st, 0); }) ||
        !query(db, "SELECT count(*) FROM sqlite_schema", why, [&](sqlite3_stmt* st) { tables = sqlite3_column_int64(st, 0); }))
        return failed();
    if ((application_id != 0 && application_id != sqlite_application_id) ||
        (application_id == 0 && status.current == 0 && tables > 0)) {
        why = "it is a SQLite database of another application";
        return failed();
    }
    bool has_table = false;
    if (!query(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'", why,
               [&](sqlite3_stmt*) { has_table = true; }))
        return failed();

    std::map<std::int64_t, schema_step> recorded;
    if (has_table &&
        !query(db, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version", why,
               [&](sqlite3_stmt* st) {
                   schema_step step;
                   step.version = sqlite3_column_int64(st, 0);
                   step.name = column_text(st, 1);
                   if (sqlite3_column_type(st, 2) != SQLITE_NULL)
                       step.applied_at = sqlite3_column_int64(st, 2);
                   recorded.emplace(step.version, std::move(step));
               }))
        return failed();

    // user_version decides what is applied; the table only adds names and times.
    auto const known_steps = sqlite_migrations();
    auto const last = std::max(status.current, status.known);
    for (std::int64_t v = 1; v <= last; ++v) {
        schema_step step;
        step.version = v;
        step.applied = v <= status.current;
        if (v <= status.known)
            step.name = std::string(known_steps[static_cast<std::size_t>(v - 1)].name);
        if (auto it = recorded.find(v); it != recorded.end()) {
            if (step.name.empty())
                step.name = it->second.name;
            if (step.applied)
                step.applied_at = it->second.applied_at;
        }
        if (step.name.empty())
            step.name = "(unknown to this relayd)";
        status.steps.push_back(std::move(step));
    }
    return status;
}

} // namespace relay::store::detail
