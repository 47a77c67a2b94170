#include <relay/robot/relay_url.hpp>

#include <boost/system/errc.hpp>

#include <algorithm>
#include <cctype>

namespace relay::robot {
namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) noexcept
{
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
}

bool valid_host_char(char c) noexcept
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

} // namespace

boost::system::result<relay_url> parse_relay_url(std::string_view url, std::string_view endpoint) noexcept
{
    auto const invalid = boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    try {
        relay_url out;
        std::string_view rest;
        if (starts_with_nocase(url, "wss://")) {
            out.tls = true;
            rest = url.substr(6);
        } else if (starts_with_nocase(url, "https://")) {
            out.tls = true;
            rest = url.substr(8);
        } else if (starts_with_nocase(url, "ws://")) {
            rest = url.substr(5);
        } else if (starts_with_nocase(url, "http://")) {
            rest = url.substr(7);
        } else {
            return invalid;
        }
        // The relay's endpoints take no query, and a fragment means a copy-paste accident.
        if (rest.find_first_of("?#") != std::string_view::npos)
            return invalid;
        auto slash = rest.find('/');
        std::string_view authority = rest.substr(0, slash);
        std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
        if (authority.find('@') != std::string_view::npos)
            return invalid;

        std::string_view port_text;
        if (!authority.empty() && authority.front() == '[') {
            auto close = authority.find(']');
            if (close == std::string_view::npos)
                return invalid;
            out.host = std::string(authority.substr(1, close - 1));
            auto after = authority.substr(close + 1);
            if (!after.empty()) {
                if (after.front() != ':')
                    return invalid;
                port_text = after.substr(1);
                if (port_text.empty())
                    return invalid;
            }
            if (out.host.empty() || out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
                return invalid;
        } else {
            auto colon = authority.rfind(':');
            out.host = std::string(authority.substr(0, colon));
            if (colon != std::string_view::npos) {
                port_text = authority.substr(colon + 1);
                if (port_text.empty())
                    return invalid;
            }
            if (out.host.empty() || !std::all_of(out.host.begin(), out.host.end(), valid_host_char))
                return invalid;
        }
        if (!port_text.empty()) {
            unsigned long port = 0;
            for (char c : port_text) {
                if (c < '0' || c > '9' || port_text.size() > 5)
                    return invalid;
                port = port * 10 + static_cast<unsigned long>(c - '0');
            }
            if (port == 0 || port > 65535)
                return invalid;
            out.port = static_cast<std::uint16_t>(port);
        } else {
            out.port = out.tls ? 443 : 80;
        }

        if (!endpoint.empty() && path.size() >= endpoint.size() && path.substr(path.size() - endpoint.size()) == endpoint) {
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
