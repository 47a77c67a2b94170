#pragma once
// The HTTP route table: "/api/devices/{id}/members/{user_id}" style patterns, where `{name}`
// captures one path segment and a trailing `{name...}` captures the rest of the path.
#include "server/net.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace relay::server {

/** What a route handler gets to look at: the request alone. The services a handler uses are
 * given to it when its route is added (api/routes.hpp). */
struct request_context {
    http_request& req;
    std::string path;         ///< the target without the query string, not decoded
    std::string query;        ///< after '?', raw
    std::string client_address;
    std::map<std::string, std::string, std::less<>> params; ///< captured and percent-decoded

    std::string const& param(std::string_view name) const;
};

using route_handler = std::function<net::awaitable<http_response>(request_context&)>;

class router {
public:
    /** Adds a route; `method` http::verb::unknown matches any method (the REST tunnel). */
    void add(http::verb method, std::string_view pattern, route_handler handler);

    /** Answers the request: the matching handler, else 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED. */
    net::awaitable<http_response> dispatch(request_context& ctx) const;

private:
    struct route {
        http::verb method;
        std::vector<std::string> segments; // literal, "{name}", or "{name...}" last
        route_handler handler;
    };
    static bool match(route const& r, std::vector<std::string_view> const& parts, request_context& ctx);

    std::vector<route> routes_;
};

/** Splits "/a/b/c" into {"a","b","c"}; keeps empty segments so "//" cannot alias "/". */
std::vector<std::string_view> split_path(std::string_view path);

} // namespace relay::server
