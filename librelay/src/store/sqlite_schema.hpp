#pragma once
/** @file The SQLite schema as an ordered list of migration steps (see docs/store.md). */
#include <relay/store/store.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace relay::store::detail {

/**
 * `PRAGMA application_id` of a relay database ("RLAY"), so the relay refuses to migrate a file
 * that belongs to another program.
 */
inline constexpr std::int32_t sqlite_application_id = 0x524c4159;

/** One migration step: its name (shown by `relayd db status`) and its DDL. */
struct sqlite_step {
    std::string_view name;
    char const* sql;
};

/**
 * The migration steps, oldest first. Step i (0-based) moves the schema from version i to i + 1,
 * so the schema version of a database is the number of steps applied (`PRAGMA user_version`,
 * which is what the relay checks: it changes atomically with the transaction). From version 3 on,
 * the table schema_migrations also holds a row per applied step, for people and tools.
 * Steps are only ever appended; a released step is never edited.
 */
std::span<sqlite_step const> sqlite_migrations() noexcept;

/** The version that creates schema_migrations; steps before it are recorded without a time. */
inline constexpr std::int64_t sqlite_migrations_table_version = 3;

/** The newest schema version this relay knows. */
inline std::int64_t sqlite_known_version() noexcept
{
    return static_cast<std::int64_t>(sqlite_migrations().size());
}

/**
 * Reads where the schema of the open database `db` stands (user_version, and the rows of
 * schema_migrations when it exists), in one read transaction; `why` says what failed.
 */
boost::system::result<schema_status> read_sqlite_status(sqlite3* db, std::string& why);

} // namespace relay::store::detail
