#include "server/http/router.hpp"

#include "server/http/http_util.hpp"

#include <boost/beast/http/field.hpp>

#include <algorithm>

namespace relay::server {

std::string const& request_context::param(std::string_view name) const
{
    static std::string const empty;
    auto it = params.find(name);
    return it == params.end() ? empty : it->second;
}

std::vector<std::string_view> split_path(std::string_view path)
{
    std::vector<std::string_view> parts;
    if (!path.empty() && path.front() == '/')
        path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return parts;
}

void router::add(http::verb method, std::string_view pattern, route_handler handler)
{
    add(method, pattern, std::move(handler), default_body_max_);
}

void router::add(http::verb method, std::string_view pattern, route_handler handler, std::size_t body_max)
{
    route r{method, std::string(pattern), {}, std::move(handler), body_max};
    for (auto seg : split_path(pattern))
        r.segments.emplace_back(seg);
    routes_.push_back(std::move(r));
}

bool router::match(route const& r, std::vector<std::string_view> const& parts, path_params& params)
{
    params.clear();
    std::size_t i = 0;
    for (; i < r.segments.size(); ++i) {
        auto const& seg = r.segments[i];
        bool capture = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
        if (capture && seg.ends_with("...}")) {
            // The rest of the path, undecoded: the tunnel checks it for traversal itself.
            if (i >= parts.size())
                return false;
            std::string rest;
            for (std::size_t j = i; j < parts.size(); ++j) {
                if (j > i) rest += '/';
                rest += parts[j];
            }
            params[seg.substr(1, seg.size() - 5)] = std::move(rest);
            return true;
        }
        if (i >= parts.size())
            return false;
        if (capture) {
            auto decoded = percent_decode(parts[i], false);
            if (!decoded || decoded->empty())
                return false;
            params[seg.substr(1, seg.size() - 2)] = std::move(*decoded);
        } else if (seg != parts[i]) {
            return false;
        }
    }
    return i == parts.size();
}

route_match router::find(http::verb method, std::string_view path) const
{
    auto parts = split_path(path);
    route_match found;
    for (auto const& r : routes_) {
        if (!match(r, parts, found.params))
            continue;
        if (r.method == http::verb::unknown || r.method == method) {
            found.handler = &r.handler;
            found.pattern = r.pattern;
            found.body_max = r.body_max;
            found.allowed.clear();
            return found;
        }
        if (!found.allowed.empty()) found.allowed += ", ";
        found.allowed += std::string(http::to_string(r.method));
    }
    found.params.clear();
    found.body_max = default_body_max_;
    return found;
}

std::size_t router::largest_body_max() const
{
    std::size_t largest = default_body_max_;
    for (auto const& r : routes_)
        largest = std::max(largest, r.body_max);
    return largest;
}

net::awaitable<http_response> router::dispatch(request_context& ctx) const
{
    auto found = find(ctx.req.method(), ctx.path);
    if (found.handler) {
        ctx.params = std::move(found.params);
        co_return co_await (*found.handler)(ctx);
    }
    if (!found.allowed.empty()) {
        auto res = error_response(errc::method_not_allowed);
        res.set(http::field::allow, found.allowed);
        co_return res;
    }
    co_return error_response(errc::not_found, "no such endpoint: " + ctx.path);
}

} // namespace relay::server
