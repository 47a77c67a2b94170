#pragma once
/** @file The SQLite schema as an ordered list of migration steps (see docs/store.md). */
#include <cstdint>
#include <span>

namespace relay::store::detail {

/**
 * `PRAGMA application_id` of a relay database ("RLAY"), so the relay refuses to migrate a file
 * that belongs to another program.
 */
inline constexpr std::int32_t sqlite_application_id = 0x524c4159;

/**
 * The migration steps, oldest first. Step i (0-based) moves the schema from version i to i + 1,
 * so the schema version of a database is the number of steps applied (`PRAGMA user_version`).
 * Steps are only ever appended; a released step is never edited.
 */
std::span<char const* const> sqlite_migrations() noexcept;

} // namespace relay::store::detail
