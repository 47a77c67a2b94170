#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"

#include <relay/server/static_site.hpp>

#include <boost/beast/http/field.hpp>

namespace relay::server {
namespace {

// The console runs no inline script and talks only to its own origin (the API and /ws/app);
// video arrives as a MediaStream. 'self' covers ws:/wss: of the same host (CSP Level 3).
constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

http_response redirect(http::status status, std::string_view location)
{
    http_response res{status, 11};
    res.set(http::field::location, location);
    res.set(http::field::cache_control, "no-cache");
    res.prepare_payload();
    return res;
}

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
    res.set("Content-Security-Policy", content_security_policy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
    if (auto inm = ctx.req[http::field::if_none_match]; !inm.empty() && inm == f->etag) {
        res.result(http::status::not_modified);
        res.prepare_payload();
        return res;
    }
    res.body() = f->content;
    res.prepare_payload();
    return res;
}

} // namespace

void add_console_routes(router& r, std::shared_ptr<static_site const> site)
{
    r.add(http::verb::get, "/", [](request_context&) -> net::awaitable<http_response> {
        co_return redirect(http::status::found, "/console/");
    });
    r.add(http::verb::get, "/console", [](request_context&) -> net::awaitable<http_response> {
        co_return redirect(http::status::moved_permanently, "/console/");
    });
    r.add(http::verb::get, "/console/{path...}", [site](request_context& ctx) -> net::awaitable<http_response> {
        co_return serve_file(ctx, *site);
    });
}

} // namespace relay::server
