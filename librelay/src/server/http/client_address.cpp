#include "server/http/client_address.hpp"

#include <algorithm>

namespace relay::server {

std::string client_address(std::vector<std::string> const& trusted_proxies, std::string const& peer,
                           http::fields const& headers)
{
    auto trusted = [&](std::string_view a) {
        return std::find(trusted_proxies.begin(), trusted_proxies.end(), a) != trusted_proxies.end();
    };
    if (!trusted(peer))
        return peer;
    auto it = headers.find("X-Forwarded-For");
    if (it == headers.end())
        return peer;
    std::string_view list(it->value().data(), it->value().size());
    while (!list.empty()) {
        auto comma = list.rfind(',');
        auto entry = comma == std::string_view::npos ? list : list.substr(comma + 1);
        while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
        while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
        boost::system::error_code ec;
        net::ip::make_address(entry, ec);
        if (ec)
            return peer; // a malformed entry: believe nothing further left
        if (!trusted(entry))
            return std::string(entry);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(0, comma);
    }
    return peer;
}

} // namespace relay::server
