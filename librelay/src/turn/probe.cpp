// What the TURN self-probe reports; the probing itself is turn_client.cpp's async_probe.
#include <relay/turn/probe.hpp>

#include <algorithm>

namespace relay::turn {

bool probe_report::ok() const noexcept
{
    return credentials_failure.empty() &&
           std::all_of(urls.begin(), urls.end(), [](url_probe const& u) { return u.outcome.ok(); });
}

std::string probe_report::problems() const
{
    if (!credentials_failure.empty())
        return "no credentials to probe with: " + credentials_failure;
    std::string out;
    for (auto const& u : urls)
        if (!u.outcome.ok())
            out += (out.empty() ? "" : "; ") + u.url + ": " + u.outcome.answer;
    return out;
}

std::vector<std::string> probe_targets(protocol::ice_credentials const& c)
{
    std::vector<std::string> out;
    auto add = [&out](std::string const& url) {
        if (is_turn_url(url) && std::find(out.begin(), out.end(), url) == out.end())
            out.push_back(url);
    };
    for (auto const& url : c.urls)
        add(url);
    for (auto const& server : c.ice_servers)
        for (auto const& url : server.urls)
            add(url);
    return out;
}

} // namespace relay::turn
