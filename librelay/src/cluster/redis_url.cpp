// RELAY_REDIS_URL: redis://[:password@]host[:port][/db], parsed with Boost.URL.
#include <relay/cluster/redis.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <charconv>
#include <limits>
#include <optional>

namespace relay::cluster {
namespace {

boost::system::result<redis_location> invalid(std::string* why, std::string text)
{
    if (why)
        *why = std::move(text);
    return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
}

/** A whole non-negative decimal number no larger than `max`; nullopt for anything else. */
template <class T> std::optional<T> whole_number(std::string_view text, T max)
{
    T value{};
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < T{} || value > max)
        return std::nullopt;
    return value;
}

} // namespace

boost::system::result<redis_location> parse_redis_url(std::string_view url, std::string* why)
{
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed)
        return invalid(why, "not a URL (expected redis://[:password@]host:port[/db])");
    auto const& u = *parsed;
    if (u.scheme() != "redis")
        return invalid(why, "the scheme must be redis:// (no TLS: rediss:// is not supported)");
    if (!u.has_authority() || u.encoded_host().empty())
        return invalid(why, "no host (expected redis://[:password@]host:port[/db])");
    if (u.has_query() || u.has_fragment())
        return invalid(why, "a Redis URL takes no query or fragment");

    redis_location where;
    where.host = u.host_address();
    if (u.has_port()) {
        auto port = whole_number<std::uint16_t>(u.port(), std::numeric_limits<std::uint16_t>::max());
        if (!port || *port == 0)
            return invalid(why, "the port must be a number from 1 to 65535");
        where.port = *port;
    }
    if (u.has_userinfo()) {
        // Redis 6 ACLs are not used: the user is absent or the built-in "default".
        auto const user = u.user();
        if (!user.empty() && user != "default")
            return invalid(why, "only the password form redis://:password@host is supported (user '" + user + "')");
        where.password = u.password();
    }
    auto const path = u.path();
    if (!path.empty() && path != "/") {
        auto db = whole_number<int>(std::string_view(path).substr(1), std::numeric_limits<int>::max());
        if (path.front() != '/' || !db)
            return invalid(why, "the path must be a database number, e.g. /0");
        where.db = *db;
    }
    return where;
}

std::string redact_redis_url(std::string_view url)
{
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed)
        return "redis://(unparsable URL)";
    boost::urls::url u(*parsed);
    if (u.has_password())
        u.set_password("***");
    return std::string(u.buffer());
}

} // namespace relay::cluster
