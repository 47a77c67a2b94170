#pragma once
/** @file The entry points of each backend, which open_store.cpp dispatches to by location. */
#include <relay/store/store.hpp>

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

} // namespace relay::store::detail
