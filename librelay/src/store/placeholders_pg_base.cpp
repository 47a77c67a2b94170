// PG-BASE PLACEHOLDERS: each helper deletes the part it implements; the file is gone before the
// branch lands.
#include "store/backends.hpp"
#include "store/sqlite_store.hpp"

namespace relay::store {
namespace {
open_error not_yet()
{
    return open_error{make_error_code(errc::internal), "not implemented yet"};
}
} // namespace

namespace detail {

// ---- PostgreSQL (helper PG) ----
open_result open_postgresql(std::string_view, store_options const&) { return not_yet(); }
status_result postgresql_schema_status(std::string_view, store_options const&) { return not_yet(); }
status_result postgresql_migrate(std::string_view, store_options const&) { return not_yet(); }

} // namespace detail

} // namespace relay::store
