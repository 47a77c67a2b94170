// The web console's files (relayd/console/, docs/console.md "Serving") at /console/, and the
// redirects of / and /console to it.
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"

#include <relay/server/static_site.hpp>

#include <boost/beast/http/field.hpp>

#include <functional>

namespace relay::server {
namespace {

http_response redirect(http::status status, std::string_view location)
{
    http_response res{status, 11};
    res.set(http::field::location, location);
    res.set(http::field::cache_control, "no-cache");
    res.prepare_payload();
    return res;
}

/** Whether an If-None-Match header names `etag`: "*", or one of its comma-separated tags, weak
 * ("W/…") or not (RFC 9110 13.1.2 compares them weakly). */
bool none_match(std::string_view header, std::string_view etag)
{
    while (!header.empty()) {
        auto comma = header.find(',');
        auto tag = header.substr(0, comma);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
        if (tag.starts_with("W/"))
            tag.remove_prefix(2);
        if (tag == "*" || tag == etag)
            return true;
        if (comma == std::string_view::npos)
            break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

/** GET /console/{path...}: the file by its key in the site (never a file system path), with its
 * validator and the console's security headers; 304 when the browser's copy is current. */
http_response serve_file(request_context& ctx, static_site const& site)
{
    std::string path = ctx.param("path");
    if (path.empty() || path.ends_with('/'))
        path += "index.html";
    auto const* f = site.find(path);
    if (!f)
        return error_response(errc::not_found, "no such console file");
    http_response res{http::status::ok, 11};
    res.set(http::field::content_type, f->content_type);
    res.set(http::field::etag, f->etag);
    // Revalidated on every load (a 304 costs a round trip, not the file): an upgraded relayd
    // never runs with yesterday's scripts.
    res.set(http::field::cache_control, "no-cache");
    res.set("Content-Security-Policy", console_content_security_policy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
    if (auto inm = ctx.req[http::field::if_none_match]; !inm.empty() && none_match(inm, f->etag)) {
        res.result(http::status::not_modified);
        res.prepare_payload();
        return res;
    }
    res.body() = f->content;
    res.prepare_payload();
    return res;
}

/** Adds `pattern` for GET, and for HEAD, which answers the same head without the body
 * (RFC 9110 9.3.2): Content-Length stays the GET answer's. */
void add_get_and_head(router& r, std::string_view pattern, std::function<http_response(request_context&)> answer)
{
    r.add(http::verb::get, pattern, [answer](request_context& ctx) -> net::awaitable<http_response> {
        co_return answer(ctx);
    });
    r.add(http::verb::head, pattern, [answer](request_context& ctx) -> net::awaitable<http_response> {
        auto res = answer(ctx);
        res.body().clear();
        co_return res;
    });
}

} // namespace

void add_console_routes(router& r, std::shared_ptr<static_site const> site)
{
    add_get_and_head(r, "/", [](request_context&) { return redirect(http::status::found, "/console/"); });
    add_get_and_head(r, "/console",
                     [](request_context&) { return redirect(http::status::moved_permanently, "/console/"); });
    add_get_and_head(r, "/console/{path...}", [site](request_context& ctx) { return serve_file(ctx, *site); });
}

} // namespace relay::server
