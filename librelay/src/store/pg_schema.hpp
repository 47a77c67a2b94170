#pragma once
/** @file The PostgreSQL schema as numbered migration steps, and applying them under an advisory
 * lock so that relays starting at once on an empty database do not race. */
#include "store/pg_connection.hpp"

#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace relay::store::detail::pg {

/** One migration step: fixed DDL from the code. */
struct migration {
    std::int64_t version;
    char const* name;
    char const* sql;
};

/** Every step this relay knows, by version (1, 2, …). */
std::span<migration const> migrations() noexcept;

/** The newest schema version this relay knows. */
std::int64_t known_version() noexcept;

/**
 * Where the schema of the database behind `conn` stands (read only). errc::internal with `why`
 * for a database that has tables but no relay schema.
 */
result<schema_status> read_status(connection& conn, std::string& why);

/**
 * Refuses a schema newer than this relay knows, and (when `apply` is false) one with pending
 * steps; otherwise applies the pending steps, each with its schema_migrations row in one
 * transaction, holding the relay's advisory lock meanwhile. Returns the status after. `conn`
 * must be a connection of its own (its statement timeout is lifted), never a pooled one.
 */
result<schema_status> migrate(connection& conn, bool apply, telemetry::logger& log, std::string& why);

/** The one line that refuses a database migrated by a newer relay. */
std::string newer_schema_message(std::int64_t current);

} // namespace relay::store::detail::pg
