#include "store/pg_schema.hpp"

#include "store/backends.hpp"

#include <array>

namespace relay::store::detail::pg {
namespace {

// Version 1: everything, in the SQLite schema's shape (docs/store.md). Times are unix seconds
// in BIGINT; roles are the same numbers as in SQLite so a copy maps rows one to one. Text keys
// sort bytewise (COLLATE "C") as SQLite's do, so lists come out in the same order on both.
// Deleting a device deletes its memberships and session history; users are never deleted by
// the relay yet, except that tokens go with their user. `seq` orders sessions that started in
// the same second, as SQLite's rowid does.
constexpr char const* version_1 = R"sql(
CREATE TABLE schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    email         TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    family_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL DEFAULT false,
    revoked    BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);

CREATE TABLE reset_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX reset_tokens_user ON reset_tokens(user_id);
CREATE INDEX reset_tokens_expiry ON reset_tokens(expires_at);

CREATE TABLE devices (
    device_id     TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen     BIGINT,
    capabilities  TEXT NOT NULL DEFAULT '',
    firmware      TEXT
);

CREATE TABLE memberships (
    device_id TEXT COLLATE "C" NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    user_id   TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    role      SMALLINT NOT NULL CHECK (role IN (1, 2, 3)),
    PRIMARY KEY (device_id, user_id)
);
-- Exactly one owner per device: at most one here, at least one because the owner is added with
-- the device and the store refuses to remove or demote it.
CREATE UNIQUE INDEX memberships_one_owner ON memberships(device_id) WHERE role = 3;
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE webrtc_sessions (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY,
    session_id      TEXT COLLATE "C" PRIMARY KEY,
    device_id       TEXT COLLATE "C" NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    started_at      BIGINT NOT NULL,
    connected_at    BIGINT,
    ended_at        BIGINT,
    connection_type TEXT,
    end_reason      TEXT,
    rtt_ms          BIGINT
);
CREATE INDEX webrtc_sessions_device ON webrtc_sessions(device_id, started_at, seq);
CREATE INDEX webrtc_sessions_open ON webrtc_sessions(session_id) WHERE ended_at IS NULL;
CREATE INDEX webrtc_sessions_user ON webrtc_sessions(user_id);

-- One row that GET /health rewrites, so the health check exercises a real write.
CREATE TABLE health (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT NOT NULL,
    checks     BIGINT NOT NULL
);
)sql";

// Version 2: device keys (docs/auth.md "Device keys"), as SQLite's version 4.
constexpr char const* version_2 = R"sql(
ALTER TABLE devices ADD COLUMN key_type TEXT NOT NULL DEFAULT 'secret' CHECK (key_type IN ('secret', 'ed25519'));
ALTER TABLE devices ADD COLUMN public_key TEXT NOT NULL DEFAULT '';
)sql";

constexpr std::array<migration, 2> steps{{
    {1, "users, tokens, devices, memberships, sessions, health", version_1},
    {2, "device keys", version_2},
}};

// pg_advisory_lock's key: "relayd\0\1" as a big-endian 64-bit number, so no other application
// sharing the database is likely to take the same one.
#define RELAY_MIGRATION_LOCK "8243113858875785217"

} // namespace

std::span<migration const> migrations() noexcept
{
    return steps;
}

std::int64_t known_version() noexcept
{
    return steps.back().version;
}

result<schema_status> read_status(connection& conn, std::string& why)
{
    failure f;
    auto found = conn.run_simple("SELECT to_regclass('schema_migrations') IS NOT NULL, "
                                 "(SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema())",
                                 f);
    if (!found) {
        why = f.message;
        return f.connection_lost ? errc::unavailable : errc::internal;
    }
    schema_status status;
    status.backend = "postgresql";
    status.known = known_version();
    std::vector<schema_step> applied;
    if (found->boolean(0, 0)) {
        auto rows = conn.run_simple("SELECT version, name, applied_at FROM schema_migrations ORDER BY version", f);
        if (!rows) {
            why = f.message;
            return f.connection_lost ? errc::unavailable : errc::internal;
        }
        for (int i = 0; i < rows->size(); ++i)
            applied.push_back(schema_step{rows->int64(i, 0), rows->text(i, 1), rows->int64(i, 2), true});
    } else if (found->int64(0, 1) > 0) {
        why = "it is not a relay database: it has tables but no schema_migrations table";
        return errc::internal;
    }
    for (auto const& a : applied)
        status.current = std::max(status.current, a.version);
    for (auto const& m : steps) {
        schema_step step{m.version, m.name, std::nullopt, false};
        for (auto const& a : applied)
            if (a.version == m.version)
                step = a;
        status.steps.push_back(std::move(step));
    }
    for (auto const& a : applied)
        if (a.version > known_version())
            status.steps.push_back(a);
    return status;
}

result<schema_status> migrate(connection& conn, bool apply, telemetry::logger& log, std::string& why)
{
    failure f;
    auto fail = [&](failure const& what) -> boost::system::error_code {
        why = what.message;
        return make_error_code(what.connection_lost ? errc::unavailable : errc::internal);
    };
    // This connection is migrate's own: waiting for another relay's migration, or a long step on
    // a big table, must not be cut short by the statement timeout meant for requests.
    if (apply && (!conn.run_simple("SET statement_timeout = 0", f) ||
                  !conn.run_simple("SELECT pg_advisory_lock(" RELAY_MIGRATION_LOCK ")", f)))
        return fail(f);
    // Unlocked on every path: the connection may go back to a pool. A lost connection has
    // released the lock with its session.
    struct unlock_guard {
        connection& conn;
        bool locked;
        ~unlock_guard()
        {
            failure ignored;
            if (locked)
                conn.run_simple("SELECT pg_advisory_unlock(" RELAY_MIGRATION_LOCK ")", ignored);
        }
    } unlock{conn, apply};

    // Read under the lock: another relay may have migrated while this one waited.
    auto status = read_status(conn, why);
    if (!status)
        return status;
    if (status->current > known_version()) {
        why = detail::newer_schema_message(status->current, known_version());
        return errc::internal;
    }
    if (status->current == known_version())
        return status;
    if (!apply) {
        why = detail::pending_schema_message(status->current, known_version());
        return errc::internal;
    }
    for (auto const& m : steps) {
        if (m.version <= status->current)
            continue;
        // Step and record together: a failure leaves the database at the previous version.
        std::string const record = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (" +
                                   std::to_string(m.version) + ", '" + m.name +
                                   "', extract(epoch FROM now())::bigint)";
        if (!conn.run_simple("BEGIN", f))
            return fail(f);
        if (!conn.run_simple(m.sql, f) || !conn.run_simple(record.c_str(), f)) {
            failure ignored;
            conn.run_simple("ROLLBACK", ignored);
            why = "step to schema version " + std::to_string(m.version) + " failed: " + f.message;
            log.error("store.migration_failed", {{"version", m.version}, {"message", std::string_view(why)}});
            return make_error_code(f.connection_lost ? errc::unavailable : errc::internal);
        }
        if (!conn.run_simple("COMMIT", f))
            return fail(f);
        log.info("store.migrated", {{"backend", "postgresql"}, {"to_version", m.version}});
    }
    return read_status(conn, why);
}

} // namespace relay::store::detail::pg

#undef RELAY_MIGRATION_LOCK
