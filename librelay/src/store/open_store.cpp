#include <relay/store/store.hpp>

#include "store/sqlite_store.hpp"

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace relay::store {

void throw_exception_from_error(open_error const& e, boost::source_location const& loc)
{
    boost::throw_exception(std::runtime_error(e.message), loc);
}

boost::system::result<std::unique_ptr<store>, open_error> open_store(std::string_view location,
                                                                      store_options const& options)
{
    // A URL scheme names the backend; anything else is a SQLite path.
    if (location.starts_with("postgresql://") || location.starts_with("postgres://"))
        return open_error{make_error_code(errc::unavailable),
                          "PostgreSQL is not built into this relay yet; set the database to a SQLite file path "
                          "or :memory:"};
    return detail::sqlite_store::open(location, options);
}

} // namespace relay::store
