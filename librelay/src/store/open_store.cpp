#include <relay/store/store.hpp>

#include "store/backends.hpp"

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
        return detail::open_postgresql(location, options);
    return detail::open_sqlite(location, options);
}

boost::system::result<schema_status, open_error> read_schema_status(std::string_view location,
                                                                     store_options const& options)
{
    if (is_postgresql_location(location))
        return detail::postgresql_schema_status(location, options);
    return detail::sqlite_schema_status(location, options);
}

boost::system::result<schema_status, open_error> migrate_schema(std::string_view location,
                                                                 store_options const& options)
{
    if (is_postgresql_location(location))
        return detail::postgresql_migrate(location, options);
    return detail::sqlite_migrate(location, options);
}

result<std::vector<webrtc_session>> store::list_user_sessions(std::string_view device_id, std::string_view user_id,
                                                             std::size_t limit)
{
    auto all = list_sessions(device_id, static_cast<std::size_t>(-1));
    if (!all)
        return all.error();
    std::vector<webrtc_session> mine;
    for (auto& s : *all) {
        if (mine.size() >= limit)
            break;
        if (s.user_id == user_id)
            mine.push_back(std::move(s));
    }
    return mine;
}

namespace detail {

std::string newer_schema_message(std::int64_t version, std::int64_t known)
{
    return "the database schema is version " + std::to_string(version) + ", newer than version " +
           std::to_string(known) +
           " that this relayd knows; run the relayd that migrated it (or a newer one), or restore a backup";
}

std::string pending_schema_message(std::int64_t version, std::int64_t known)
{
    return "the database schema is version " + std::to_string(version) + " and this relayd needs version " +
           std::to_string(known) + "; run `relayd db migrate` first";
}

} // namespace detail

} // namespace relay::store
