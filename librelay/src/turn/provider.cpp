// What every provider shares: URL classification and ordering, time.
#include <relay/turn/provider.hpp>

#include "ice_list.hpp"

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cctype>

namespace relay::turn {
namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept
{
    if (s.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i])
            return false;
    return true;
}

/** The value of `transport=` in the URL's query, lower-cased; empty when absent. */
std::string transport_of(std::string_view url)
{
    auto q = url.find('?');
    if (q == std::string_view::npos)
        return {};
    auto query = url.substr(q + 1);
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        if (starts_with_nocase(pair, "transport=")) {
            std::string value(pair.substr(10));
            for (auto& c : value)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return value;
        }
        if (amp == std::string_view::npos)
            break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

/** 0 for TURN over UDP, 1 for TURN over TCP, 2 for TURN over TLS (and anything unexpected). */
int rank(std::string_view url)
{
    if (starts_with_nocase(url, "turns:"))
        return 2;
    auto transport = transport_of(url);
    if (transport.empty() || transport == "udp")
        return 0;
    return transport == "tcp" ? 1 : 2;
}

} // namespace

void throw_exception_from_error(failure const& f, boost::source_location const& loc)
{
    boost::throw_exception(boost::system::system_error(f.code, f.reason), loc);
}

std::vector<std::string> order_turn_urls(std::vector<std::string> urls)
{
    std::stable_sort(urls.begin(), urls.end(),
                     [](std::string const& a, std::string const& b) { return rank(a) < rank(b); });
    return urls;
}

bool is_turn_url(std::string_view url) noexcept
{
    return starts_with_nocase(url, "turn:") || starts_with_nocase(url, "turns:");
}

bool is_stun_url(std::string_view url) noexcept
{
    return starts_with_nocase(url, "stun:") || starts_with_nocase(url, "stuns:");
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) noexcept
{
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point now(clock_function const& clock)
{
    return clock ? clock() : std::chrono::system_clock::now();
}

namespace detail {

void append_stun_entry(std::vector<protocol::ice_server>& servers, std::vector<std::string> const& stun_urls)
{
    protocol::ice_server stun;
    for (auto const& url : stun_urls)
        if (std::find(stun.urls.begin(), stun.urls.end(), url) == stun.urls.end())
            stun.urls.push_back(url);
    if (!stun.urls.empty())
        servers.push_back(std::move(stun));
}

} // namespace detail
} // namespace relay::turn
