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

/** Captured path parameters by name, percent-decoded (a `{name...}` capture stays undecoded). */
using path_params = std::map<std::string, std::string, std::less<>>;

/** What a route handler gets to look at: the request alone. The services a handler uses are
 * given to it when its route is added (api/routes.hpp). */
struct request_context {
    http_request& req;
    std::string path;         ///< the target without the query string, not decoded
    std::string query;        ///< after '?', raw
    std::string client_address;
    path_params params; ///< captured and percent-decoded

    std::string const& param(std::string_view name) const;
};

using route_handler = std::function<net::awaitable<http_response>(request_context&)>;

/** What the route table says about a request head, before its body is read. */
struct route_match {
    route_handler const* handler = nullptr; ///< null: 404, or 405 when `allowed` is not empty
    std::string_view pattern;               ///< the matching route's, e.g. "/api/devices/{id}"
    std::size_t body_max = 0;               ///< the largest body the request may send
    std::string allowed;                    ///< for 405: the path's methods, e.g. "GET, PATCH"
    path_params params;
};

class router {
public:
    /** A table whose routes take bodies up to `default_body_max` bytes unless they say otherwise. */
    explicit router(std::size_t default_body_max = 64 * 1024) : default_body_max_(default_body_max) {}

    /** Adds a route; `method` http::verb::unknown matches any method (the REST tunnel). */
    void add(http::verb method, std::string_view pattern, route_handler handler);

    /** Adds a route whose requests may carry bodies up to `body_max` bytes (the REST tunnel's). */
    void add(http::verb method, std::string_view pattern, route_handler handler, std::size_t body_max);

    /**
     * The route for a request head: the first whose method and pattern match. Without one,
     * `body_max` is the table's default (a 404 or 405 reads no more than that) and `allowed`
     * names the methods of the routes whose pattern matches. `path` is the target without the
     * query string, undecoded.
     */
    route_match find(http::verb method, std::string_view path) const;

    /** The largest limit of any route: enough to read any request's head before its route is known. */
    std::size_t largest_body_max() const;

    /** Answers the request: the matching handler, else 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED. */
    net::awaitable<http_response> dispatch(request_context& ctx) const;

private:
    struct route {
        http::verb method;
        std::string pattern;
        std::vector<std::string> segments; // literal, "{name}", or "{name...}" last
        route_handler handler;
        std::size_t body_max;
    };
    static bool match(route const& r, std::vector<std::string_view> const& parts, path_params& params);

    std::size_t default_body_max_;
    std::vector<route> routes_;
};

/**
 * Splits "/a/b/c" into {"a","b","c"}, segments undecoded; keeps empty segments so "//" cannot
 * alias "/" ("/" is one empty segment, "/a/" is {"a",""}).
 */
std::vector<std::string_view> split_path(std::string_view path);

} // namespace relay::server
