#include "store/sqlite_schema.hpp"

#include <array>

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

constexpr std::array<char const*, 2> steps{version_1, version_2};

} // namespace

std::span<char const* const> sqlite_migrations() noexcept
{
    return steps;
}

} // namespace relay::store::detail
