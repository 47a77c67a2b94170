// What every provider shares: URL classification and ordering, time.
#include <relay/turn/provider.hpp>

#include "ice_list.hpp"

#include <boost/system/system_error.hpp>

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <utility>

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

/** What ordering and filtering need of a stun:, stuns:, turn: or turns: URL (RFC 7064/7065). */
struct ice_url {
    int group = 2;          ///< TURN over UDP 0, over TCP 1, over TLS (and anything unexpected) 2
    std::uint16_t port = 0; ///< the port, or the scheme's default; 0 when the URL cannot be read
};

ice_url parse_ice_url(std::string_view url)
{
    ice_url out;
    auto colon = url.find(':');
    if (colon == std::string_view::npos)
        return out;
    bool tls = starts_with_nocase(url, "turns:") || starts_with_nocase(url, "stuns:");
    // "turn:host:port?transport=udp" has no "//": written as "turn://host:port?…" it is a URI
    // whose authority Boost.URL reads, IPv6 literals included.
    std::string as_uri(url.substr(0, colon));
    as_uri += "://";
    as_uri += url.substr(colon + 1);
    auto parsed = boost::urls::parse_uri(as_uri);
    if (!parsed)
        return out;
    out.port = parsed->has_port() ? parsed->port_number() : static_cast<std::uint16_t>(tls ? 5349 : 3478);
    if (tls)
        return out;
    std::string transport;
    for (auto const& param : parsed->params())
        if (boost::urls::grammar::ci_is_equal(param.key, "transport"))
            transport = param.value;
    if (transport.empty() || boost::urls::grammar::ci_is_equal(transport, "udp"))
        out.group = 0;
    else if (boost::urls::grammar::ci_is_equal(transport, "tcp"))
        out.group = 1;
    return out;
}

/** 0 for TURN over UDP, 1 for TURN over TCP, 2 for TURN over TLS (and anything unexpected). */
int rank(std::string_view url)
{
    return parse_ice_url(url).group;
}

/**
 * Within its group, the port that gets through most networks first: the standard 3478 for UDP
 * and TCP, then 80 for TCP (open where only web traffic is); 443 for TLS (looks like HTTPS),
 * then the standard 5349; any other port after those.
 */
int port_preference(ice_url const& u)
{
    static constexpr std::uint16_t preferred[3][2] = {{3478, 3478}, {3478, 80}, {443, 5349}};
    auto const& order = preferred[u.group];
    if (u.port == order[0])
        return 0;
    return u.port == order[1] ? 1 : 2;
}

/** `urls` without duplicates (first kept) and without those on port 53. */
std::vector<std::string> without_unusable(std::vector<std::string> urls)
{
    std::vector<std::string> out;
    for (auto& url : urls)
        if (!is_port_53_url(url) && std::find(out.begin(), out.end(), url) == out.end())
            out.push_back(std::move(url));
    return out;
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

std::vector<std::string> usable_turn_urls(std::vector<std::string> urls)
{
    urls = without_unusable(std::move(urls));
    std::stable_sort(urls.begin(), urls.end(), [](std::string const& a, std::string const& b) {
        auto pa = parse_ice_url(a);
        auto pb = parse_ice_url(b);
        return std::pair(pa.group, port_preference(pa)) < std::pair(pb.group, port_preference(pb));
    });
    return urls;
}

std::vector<std::string> usable_stun_urls(std::vector<std::string> urls)
{
    return without_unusable(std::move(urls));
}

bool is_port_53_url(std::string_view url)
{
    return parse_ice_url(url).port == 53;
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
    protocol::ice_server stun{usable_stun_urls(stun_urls), std::nullopt, std::nullopt};
    if (!stun.urls.empty())
        servers.push_back(std::move(stun));
}

} // namespace detail
} // namespace relay::turn
