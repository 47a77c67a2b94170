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

// ---- SQLite migrations, snapshots and copy (helper MIGRATE) ----
status_result sqlite_schema_status(std::string_view, store_options const&) { return not_yet(); }
status_result sqlite_migrate(std::string_view, store_options const&) { return not_yet(); }
result<snapshot> sqlite_store::export_snapshot() { return errc::internal; }
result<void> sqlite_store::import_snapshot(snapshot const&, import_mode) { return errc::internal; }

} // namespace detail

boost::system::result<copy_report, open_error> copy_store(std::string_view, std::string_view, copy_options const&,
                                                          store_options const&)
{
    return not_yet();
}
// ---- end (helper MIGRATE) ----

} // namespace relay::store
