#pragma once
/** @file The entry points of each backend, which open_store.cpp dispatches to by location. */
#include <relay/store/store.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace relay::store::detail {

using open_result = boost::system::result<std::unique_ptr<store>, open_error>;
using status_result = boost::system::result<schema_status, open_error>;

// SQLite: a file path or ":memory:".
open_result open_sqlite(std::string_view location, store_options const& options);
status_result sqlite_schema_status(std::string_view location, store_options const& options);
status_result sqlite_migrate(std::string_view location, store_options const& options);

// PostgreSQL: a postgresql:// or postgres:// URL.
open_result open_postgresql(std::string_view url, store_options const& options);
status_result postgresql_schema_status(std::string_view url, store_options const& options);
status_result postgresql_migrate(std::string_view url, store_options const& options);

// The same words on every backend.

/** The one line that refuses a schema newer than this relay knows. */
std::string newer_schema_message(std::int64_t version, std::int64_t known);
/** The refusal of a database that lacks steps when store_options::migrate is false. */
std::string pending_schema_message(std::int64_t version, std::int64_t known);

/** A row limit as a LIMIT parameter: both databases take a signed 64-bit number. */
inline std::int64_t sql_limit(std::size_t limit) noexcept
{
    auto const max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(limit < max ? limit : max);
}

} // namespace relay::store::detail
