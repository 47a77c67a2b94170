#include <relay/store/store.hpp>

#include "store/sqlite_store.hpp"

#include <boost/throw_exception.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <utility>
#include <vector>

#include <stdexcept>

namespace relay::store {

void throw_exception_from_error(open_error const& e, boost::source_location const& loc)
{
    boost::throw_exception(std::runtime_error(e.message), loc);
}

bool is_postgresql_location(std::string_view location) noexcept
{
    return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string redact_location(std::string_view location)
{
    if (!is_postgresql_location(location))
        return std::string(location);
    auto parsed = boost::urls::parse_uri(location);
    if (!parsed)
        return "postgresql://(unparsable URL)";
    boost::urls::url u(*parsed);
    if (u.has_password())
        u.set_password("***");
    // Only parameters known to hold nothing secret survive: a query may carry `password=`.
    std::vector<std::pair<std::string, std::string>> kept;
    for (auto param : u.params())
        if (param.key == "sslmode" || param.key == "connect_timeout" || param.key == "application_name")
            kept.emplace_back(param.key, param.has_value ? param.value : std::string());
    u.remove_query();
    for (auto const& [key, value] : kept)
        u.params().append({key, value});
    u.remove_fragment();
    return std::string(u.buffer());
}

boost::system::result<std::unique_ptr<store>, open_error> open_store(std::string_view location,
                                                                      store_options const& options)
{
    // A URL scheme names the backend; anything else is a SQLite path.
    if (is_postgresql_location(location))
        return open_error{make_error_code(errc::unavailable),
                          "PostgreSQL is not built into this relay yet; set the database to a SQLite file path "
                          "or :memory:"}; // PG-BASE PLACEHOLDER: replaced by the PostgreSQL store
    return detail::sqlite_store::open(location, options);
}

// PG-BASE PLACEHOLDERS: replaced by the migrations and copy work before this branch lands.
boost::system::result<schema_status, open_error> read_schema_status(std::string_view, store_options const&)
{
    return open_error{make_error_code(errc::internal), "not implemented yet"};
}

boost::system::result<schema_status, open_error> migrate_schema(std::string_view, store_options const&)
{
    return open_error{make_error_code(errc::internal), "not implemented yet"};
}

boost::system::result<copy_report, open_error> copy_store(std::string_view, std::string_view, copy_options const&,
                                                          store_options const&)
{
    return open_error{make_error_code(errc::internal), "not implemented yet"};
}

} // namespace relay::store
