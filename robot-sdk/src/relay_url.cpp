#include <relay/robot/relay_url.hpp>

#include <relay/protocol/validation.hpp>

#include <boost/system/errc.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

namespace relay::robot {
namespace {

bool valid_host_char(char c) noexcept
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

} // namespace

boost::system::result<relay_url> parse_relay_url(std::string_view url, std::string_view endpoint) noexcept
{
    namespace urls = boost::urls;
    auto const invalid = boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    try {
        auto parsed = urls::parse_uri(url);
        if (!parsed)
            return invalid;
        relay_url out;
        switch (parsed->scheme_id()) {
        case urls::scheme::wss:
        case urls::scheme::https: out.tls = true; break;
        case urls::scheme::ws:
        case urls::scheme::http: break;
        default: return invalid;
        }
        // The relay's endpoints take no query, and a fragment means a copy-paste accident.
        if (parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment())
            return invalid;
        // Boost.URL 1.81 reads "host:80x" as port 80 and path "x": a path must start with '/'.
        std::string_view path = parsed->encoded_path();
        if (!path.empty() && path.front() != '/')
            return invalid;
        // Host names as DNS has them (no escapes); IPv6 comes without its brackets.
        auto host = parsed->encoded_host_address();
        switch (parsed->host_type()) {
        case urls::host_type::name:
            if (!std::all_of(host.begin(), host.end(), valid_host_char))
                return invalid;
            break;
        case urls::host_type::ipv4:
        case urls::host_type::ipv6: break;
        default: return invalid;
        }
        if (host.empty())
            return invalid;
        out.host = std::string(host);
        out.port = out.tls ? 443 : 80;
        if (parsed->has_port()) {
            auto port = protocol::parse_port(parsed->port());
            if (!port)
                return invalid;
            out.port = *port;
        }

        if (!endpoint.empty() && path.ends_with(endpoint)) {
            out.path = std::string(path);
        } else {
            while (!path.empty() && path.back() == '/')
                path.remove_suffix(1);
            out.path = std::string(path) + std::string(endpoint);
        }
        if (out.path.empty())
            out.path = "/";
        return out;
    } catch (std::bad_alloc const&) {
        return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
    }
}

std::string to_string(relay_url const& url)
{
    bool v6 = url.host.find(':') != std::string::npos;
    return std::string(url.tls ? "wss://" : "ws://") + (v6 ? "[" + url.host + "]" : url.host) + ":" +
           std::to_string(url.port) + url.path;
}

} // namespace relay::robot
