// The route table on its own: which route a request head reaches, what it captures, and the
// body limit it carries (the HTTP session reads that limit before the body).
#include "server/http/router.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>

using namespace relay::server;

namespace {

constexpr std::size_t json_limit = 64 * 1024;
constexpr std::size_t tunnel_limit = 1024 * 1024;

net::awaitable<http_response> unused(request_context&) { co_return http_response{}; }

/** A table shaped like relayd's: literals, one and two captures, and a rest-of-path capture. */
router relay_like_table()
{
    router r(json_limit);
    std::pair<http::verb, char const*> const json_routes[] = {
        {http::verb::get, "/health"},
        {http::verb::get, "/api/devices"},
        {http::verb::post, "/api/devices"},
        {http::verb::get, "/api/devices/{id}"},
        {http::verb::patch, "/api/devices/{id}"},
        {http::verb::delete_, "/api/devices/{id}/members/{user_id}"},
    };
    for (auto const& [verb, pattern] : json_routes)
        r.add(verb, pattern, unused);
    r.add(http::verb::unknown, "/api/devices/{id}/rest/{path...}", unused, tunnel_limit);
    return r;
}

/** The match for a head that must reach the route with `pattern`. */
route_match expect_route(router const& table, http::verb method, std::string_view path, std::string_view pattern)
{
    CAPTURE(path);
    auto found = table.find(method, path);
    REQUIRE(found.handler != nullptr);
    CHECK(found.pattern == pattern);
    CHECK(found.allowed.empty());
    return found;
}

} // namespace

TEST_CASE("router: literal paths match only themselves")
{
    auto const table = relay_like_table();
    auto found = expect_route(table, http::verb::get, "/health", "/health");
    CHECK(found.params.empty());
    CHECK(found.body_max == json_limit);

    for (auto const* other : {"/healthz", "/health/", "/Health", "/", "", "//health", "/health/x"}) {
        CAPTURE(other);
        auto miss = table.find(http::verb::get, other);
        CHECK(miss.handler == nullptr);
        CHECK(miss.allowed.empty());
    }
}

TEST_CASE("router: {name} captures one segment, percent-decoded")
{
    auto const table = relay_like_table();
    auto found = expect_route(table, http::verb::get, "/api/devices/tbot-1", "/api/devices/{id}");
    CHECK(found.params.at("id") == "tbot-1");

    auto two = expect_route(table, http::verb::delete_, "/api/devices/d%201/members/u_7",
                            "/api/devices/{id}/members/{user_id}");
    CHECK(two.params.at("id") == "d 1");
    CHECK(two.params.at("user_id") == "u_7");

    // An encoded '/' stays inside its segment: it never makes the path longer.
    auto encoded_slash = expect_route(table, http::verb::get, "/api/devices/a%2Fb", "/api/devices/{id}");
    CHECK(encoded_slash.params.at("id") == "a/b");
    // A '+' in a path is a plus, not a space (that is only so in query strings).
    CHECK(table.find(http::verb::get, "/api/devices/a+b").params.at("id") == "a+b");
}

TEST_CASE("router: empty and malformed captures do not match")
{
    auto const table = relay_like_table();
    for (auto const* path : {"/api/devices/", "/api/devices//members/u", "/api/devices/%zz", "/api/devices/%4",
                             "/api/devices/%", "/api/devices/a/members/"}) {
        CAPTURE(path);
        auto found = table.find(http::verb::get, path);
        CHECK(found.handler == nullptr);
        auto deleted = table.find(http::verb::delete_, path);
        CHECK(deleted.handler == nullptr);
    }
    // "//" does not alias "/": an empty segment is a segment.
    CHECK(table.find(http::verb::get, "/api//devices").handler == nullptr);
    CHECK(table.find(http::verb::get, "//api/devices").handler == nullptr);
}

TEST_CASE("router: {name...} takes the rest of the path undecoded, and carries its own body limit")
{
    auto const table = relay_like_table();
    auto found = expect_route(table, http::verb::post, "/api/devices/tbot/rest/photos/2024/a%2Fb.jpg",
                              "/api/devices/{id}/rest/{path...}");
    CHECK(found.params.at("id") == "tbot");
    CHECK(found.params.at("path") == "photos/2024/a%2Fb.jpg");
    CHECK(found.body_max == tunnel_limit);

    // Any method reaches it (http::verb::unknown), and a trailing '/' is an empty last segment.
    for (auto verb : {http::verb::get, http::verb::put, http::verb::delete_, http::verb::options}) {
        auto any = expect_route(table, verb, "/api/devices/tbot/rest/status/", "/api/devices/{id}/rest/{path...}");
        CHECK(any.params.at("path") == "status/");
    }
    // It needs at least one segment after "rest".
    CHECK(table.find(http::verb::get, "/api/devices/tbot/rest").handler == nullptr);
    CHECK(table.find(http::verb::get, "/api/devices/tbot/rest/").params.at("path").empty());
}

TEST_CASE("router: 405 names the path's methods, 404 when no pattern matches")
{
    auto const table = relay_like_table();
    auto wrong_method = table.find(http::verb::delete_, "/api/devices/tbot");
    CHECK(wrong_method.handler == nullptr);
    CHECK(wrong_method.allowed == "GET, PATCH");
    CHECK(wrong_method.params.empty());
    CHECK(wrong_method.body_max == json_limit);

    auto collection = table.find(http::verb::put, "/api/devices");
    CHECK(collection.handler == nullptr);
    CHECK(collection.allowed == "GET, POST");

    auto nowhere = table.find(http::verb::get, "/api/nothing");
    CHECK(nowhere.handler == nullptr);
    CHECK(nowhere.allowed.empty());
    CHECK(nowhere.body_max == json_limit);
}

TEST_CASE("router: the largest limit is known before any route is")
{
    router small(1000);
    CHECK(small.largest_body_max() == 1000);
    small.add(http::verb::post, "/a", unused);
    CHECK(small.largest_body_max() == 1000);
    small.add(http::verb::post, "/b", unused, 5000);
    small.add(http::verb::post, "/c", unused, 10);
    CHECK(small.largest_body_max() == 5000);
    CHECK(small.find(http::verb::post, "/c").body_max == 10);
    CHECK(small.find(http::verb::post, "/nowhere").body_max == 1000);
}

TEST_CASE("split_path keeps empty segments")
{
    using v = std::vector<std::string_view>;
    CHECK(split_path("/a/b/c") == v{"a", "b", "c"});
    CHECK(split_path("/") == v{""});
    CHECK(split_path("") == v{""});
    CHECK(split_path("/a/") == v{"a", ""});
    CHECK(split_path("//") == v{"", ""});
    CHECK(split_path("a/b") == v{"a", "b"});
}
