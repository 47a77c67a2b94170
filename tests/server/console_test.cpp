// The web console as relayd serves it (docs/console.md, "Serving"): every file of relayd/console/
// byte for byte from the binary, HEAD, revalidation, the security headers, paths that must never
// reach outside the site, RELAY_CONSOLE=false, RELAY_CONSOLE_DIR, and the API beside it unchanged.
#include "support/clients.hpp"
#include "support/relayd_process.hpp"

#include <main/test_files.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <filesystem>

using namespace relay::test;
namespace fs = std::filesystem;

namespace {

fs::path const console_source = fs::path(RELAY_TEST_SOURCE_DIR) / "relayd" / "console";

// Pinned here on purpose: a change of the policy must be a change of this test too.
constexpr char const* expected_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Every file under `root`, as the site's keys ("js/app.js"). */
std::vector<std::string> files_under(fs::path const& root)
{
    std::vector<std::string> keys;
    for (auto const& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file())
            keys.push_back(e.path().lexically_relative(root).generic_string());
    std::sort(keys.begin(), keys.end());
    return keys;
}

/** The head and body of a raw answer (read until the relay closed the connection). */
std::pair<std::string, std::string> split_answer(std::string const& bytes)
{
    auto end = bytes.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    return {bytes.substr(0, end + 2), bytes.substr(end + 4)};
}

/** A request no client library would send as is (raw target, any method), on its own connection. */
raw_reply raw_request(std::uint16_t port, std::string const& method, std::string const& target,
                      std::string const& extra_headers = {})
{
    return raw_exchange(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
                                  "Connection: close\r\n\r\n");
}

unsigned status_of(raw_reply const& r)
{
    REQUIRE(r.bytes.starts_with("HTTP/1.1 "));
    return static_cast<unsigned>(std::stoi(r.bytes.substr(9, 3)));
}

} // namespace

TEST_CASE("console: every file of relayd/console/ is served byte for byte, with its type and validator")
{
    relayd_process relayd;
    auto const files = files_under(console_source);
    REQUIRE(files.size() >= 5);
    REQUIRE(std::find(files.begin(), files.end(), "index.html") != files.end());
    for (auto const& key : files) {
        CAPTURE(key);
        auto r = http_get(relayd.port(), "/console/" + key);
        REQUIRE(r.status == 200);
        // A mismatch here means relayd was built from another copy of the console: the embed is stale.
        CHECK(r.body == read_test_file(console_source / key));
        CHECK(r.header("content-length") == std::to_string(r.body.size()));
        CHECK(r.header("cache-control") == "no-cache");
        auto etag = r.header("etag");
        CHECK(etag.size() == 34);
        CHECK(etag.front() == '"');
        CHECK(etag.back() == '"');
        CHECK(r.header("x-content-type-options") == "nosniff");
        auto type = r.header("content-type");
        if (key.ends_with(".html"))
            CHECK(type == "text/html; charset=utf-8");
        else if (key.ends_with(".js"))
            CHECK(type == "text/javascript; charset=utf-8");
        else if (key.ends_with(".css"))
            CHECK(type == "text/css; charset=utf-8");
        else if (key.ends_with(".svg"))
            CHECK(type == "image/svg+xml");
        else
            CHECK(type != "application/octet-stream");
    }
}

TEST_CASE("console: / and /console redirect, /console/ is index.html with the security headers")
{
    relayd_process relayd;
    auto const port = relayd.port();
    auto root = http_call(port, "GET", "/");
    CHECK(root.status == 302);
    CHECK(root.header("location") == "/console/");
    auto bare = http_call(port, "GET", "/console");
    CHECK(bare.status == 301);
    CHECK(bare.header("location") == "/console/");

    auto index = http_get(port, "/console/");
    REQUIRE(index.status == 200);
    CHECK(index.body == read_test_file(console_source / "index.html"));
    CHECK(index.header("content-type") == "text/html; charset=utf-8");
    CHECK(index.header("content-security-policy") == expected_csp);
    CHECK(index.header("x-content-type-options") == "nosniff");
    CHECK(index.header("referrer-policy") == "no-referrer");
    CHECK(index.header("x-frame-options") == "DENY");
    CHECK(http_get(port, "/console/index.html").body == index.body);
    CHECK(http_get(port, "/console/?from=mail").body == index.body); // a query does not change the file
    // The policy leaves nothing inline to the page itself: no inline script or style in the files.
    CHECK(index.body.find("<style") == std::string::npos);
    CHECK(index.body.find(" style=") == std::string::npos);
    CHECK(index.body.find("<script>") == std::string::npos);
}

TEST_CASE("console: HEAD answers the same head without a body")
{
    relayd_process relayd;
    auto const port = relayd.port();
    for (std::string target : {"/console/", "/console/js/app.js", "/console/style.css"}) {
        CAPTURE(target);
        auto got = http_get(port, target);
        REQUIRE(got.status == 200);
        auto head = raw_request(port, "HEAD", target);
        REQUIRE(head.closed);
        CHECK(status_of(head) == 200);
        auto [fields, body] = split_answer(head.bytes);
        CHECK(body.empty());
        CHECK(fields.find("Content-Length: " + std::to_string(got.body.size()) + "\r\n") != std::string::npos);
        CHECK(fields.find("ETag: " + got.header("etag") + "\r\n") != std::string::npos);
        CHECK(fields.find("Content-Type: " + got.header("content-type") + "\r\n") != std::string::npos);
        CHECK(fields.find(std::string("Content-Security-Policy: ") + expected_csp + "\r\n") != std::string::npos);
    }
    auto redirect = raw_request(port, "HEAD", "/");
    CHECK(status_of(redirect) == 302);
    CHECK(redirect.bytes.find("Location: /console/\r\n") != std::string::npos);
    auto missing = raw_request(port, "HEAD", "/console/nope.js");
    CHECK(status_of(missing) == 404);
    CHECK(split_answer(missing.bytes).second.empty());
}

TEST_CASE("console: If-None-Match with the current validator is 304 without a body, a stale one gets the file")
{
    relayd_process relayd;
    auto const port = relayd.port();
    auto first = http_get(port, "/console/js/app.js");
    REQUIRE(first.status == 200);
    auto etag = first.header("etag");
    for (auto const& inm : {etag, "W/" + etag, "\"0000\", " + etag, std::string("*")}) {
        CAPTURE(inm);
        auto again = http_call(port, "GET", "/console/js/app.js", {}, {{"If-None-Match", inm}});
        CHECK(again.status == 304);
        CHECK(again.body.empty());
        CHECK(again.header("etag") == etag);
    }
    auto stale = http_call(port, "GET", "/console/js/app.js", {}, {{"If-None-Match", "\"0123456789abcdef\""}});
    CHECK(stale.status == 200);
    CHECK(stale.body == first.body);
    // Another file has another validator.
    CHECK(http_get(port, "/console/index.html").header("etag") != etag);
}

TEST_CASE("console: unknown files are 404 JSON, other methods 405, and no path reaches outside the site")
{
    temp_dir dir;
    // A file beside the served folder: what a traversal would be after.
    write_test_file(fs::path(dir.path()) / "secret.txt", "do not serve");
    write_test_file(fs::path(dir.path()) / "site" / "index.html", "<!doctype html><title>t</title>");
    write_test_file(fs::path(dir.path()) / "site" / "js" / "app.js", "export {};");
    for (auto const& env : {env_map{}, env_map{{"RELAY_CONSOLE_DIR", dir.path() + "/site"}}}) {
        CAPTURE(env.size());
        relayd_process relayd(env);
        auto const port = relayd.port();
        auto missing = http_get(port, "/console/nope.js");
        CHECK(missing.status == 404);
        CHECK(missing.header("content-type") == "application/json");
        CHECK(missing.error_code() == "NOT_FOUND");
        CHECK(http_get(port, "/console/js/").status == 404); // a folder has no index of its own

        std::vector<std::string> const targets{"/console/../secret.txt", "/console/%2e%2e/secret.txt", "/console/%2E%2E/secret.txt",
                                   "/console/..%2fsecret.txt", "/console/js/../../secret.txt", "/console//secret.txt",
                                   "/console//etc/passwd", "/console/..\\secret.txt", "/console/..%5csecret.txt",
                                   "/console/index.html%00", "/console/index.html%00.js", "/console/%2findex.html",
                                   "/console/./index.html", "/console/js/../index.html", "/console/" + dir.path() + "/secret.txt",
                                   "/console/%2e%2e%2f%2e%2e%2fetc/passwd", "/console/....//secret.txt"};
        for (auto const& target : targets) {
            CAPTURE(target);
            auto r = raw_request(port, "GET", target);
            REQUIRE(r.closed);
            // Either refused as malformed or not found: never a file.
            auto status = status_of(r);
            CHECK((status == 404 || status == 400));
            CHECK(r.bytes.find("do not serve") == std::string::npos);
            CHECK(r.bytes.find("root:") == std::string::npos);
            CHECK(r.bytes.find("Content-Security-Policy") == std::string::npos);
        }
        // A NUL byte in the raw target is not a request at all.
        auto nul = raw_exchange(port, std::string("GET /console/index.html") + '\0' +
                                          ".js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CHECK(nul.bytes.find("200 OK") == std::string::npos);

        for (std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
            CAPTURE(method);
            auto r = http_call(port, method, "/console/index.html", "{}");
            CHECK(r.status == 405);
            CHECK(r.header("allow") == "GET, HEAD");
            CHECK(r.error_code() == "METHOD_NOT_ALLOWED");
        }
        CHECK(http_call(port, "POST", "/").status == 405);
    }
}

TEST_CASE("console: RELAY_CONSOLE=false serves nothing at / or /console/, and the API is unchanged")
{
    relayd_process relayd(env_map{{"RELAY_CONSOLE", "false"}});
    auto const port = relayd.port();
    for (std::string target : {"/", "/console", "/console/", "/console/index.html", "/console/js/app.js"}) {
        CAPTURE(target);
        auto r = http_get(port, target);
        CHECK(r.status == 404);
        CHECK(r.error_code() == "NOT_FOUND");
        CHECK(r.header("content-security-policy").empty());
    }
    CHECK(http_get(port, "/health").status == 200);
    CHECK(http_get(port, "/api/devices").status == 401);
    CHECK(relayd.output().find("from=embedded") == std::string::npos);
}

TEST_CASE("console: the API, /ws/* and CORS beside it are as without it")
{
    relayd_process relayd(env_map{{"RELAY_CORS_ORIGINS", "https://app.example.com"}});
    auto const port = relayd.port();
    auto health = http_get(port, "/health");
    CHECK(health.status == 200);
    CHECK(health.header("content-security-policy").empty());
    auto devices = http_get(port, "/api/devices");
    CHECK(devices.status == 401);
    CHECK(devices.error_code() == "UNAUTHORIZED");
    CHECK(devices.header("content-security-policy").empty());
    CHECK(http_get(port, "/api/nope").status == 404);
    CHECK(ws_client::upgrade_status(port, "/ws/app") == 101);
    CHECK(ws_client::upgrade_status(port, "/ws/device") == 101);

    // Same-origin use needs no CORS; a listed origin gets its header, another none, on every path.
    for (std::string target : {"/console/", "/health"}) {
        CAPTURE(target);
        auto same = http_get(port, target);
        CHECK(same.header("access-control-allow-origin").empty());
        auto listed = http_call(port, "GET", target, {}, {{"Origin", "https://app.example.com"}});
        CHECK(listed.header("access-control-allow-origin") == "https://app.example.com");
        auto other = http_call(port, "GET", target, {}, {{"Origin", "https://evil.example.com"}});
        CHECK(other.header("access-control-allow-origin").empty());
    }
}

TEST_CASE("console: RELAY_CONSOLE_DIR serves that folder as read at start")
{
    temp_dir dir;
    auto const site = fs::path(dir.path()) / "site";
    write_test_file(site / "index.html", "<!doctype html><title>dev</title>");
    write_test_file(site / "js" / "views" / "new.js", "export const x = 1;\n");
    write_test_file(site / "data" / "empty.json", "");
    std::string binary;
    for (int i = 0; i < 256; ++i)
        binary += static_cast<char>(i);
    write_test_file(site / "pic.png", binary);
    relayd_process relayd(env_map{{"RELAY_CONSOLE_DIR", site.string()}});
    auto const port = relayd.port();
    CHECK(http_get(port, "/console/").body == "<!doctype html><title>dev</title>");
    auto js = http_get(port, "/console/js/views/new.js");
    CHECK(js.body == "export const x = 1;\n");
    CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
    auto empty = http_get(port, "/console/data/empty.json");
    CHECK(empty.status == 200);
    CHECK(empty.body.empty());
    auto png = http_get(port, "/console/pic.png");
    CHECK(png.body == binary);
    CHECK(png.header("content-type") == "image/png");
    // Not the built-in console.
    CHECK(http_get(port, "/console/js/app.js").status == 404);
    // Read at start: a file added later is not served until a restart.
    write_test_file(site / "later.js", "x");
    CHECK(http_get(port, "/console/later.js").status == 404);
    CHECK(relayd.output().find("from=" + site.string()) != std::string::npos);
}

TEST_CASE("console: a missing or empty RELAY_CONSOLE_DIR stops relayd at start with the reason")
{
    temp_dir dir;
    fs::create_directories(fs::path(dir.path()) / "empty");
    write_test_file(fs::path(dir.path()) / "no-index" / "app.js", "x");
    struct refusal {
        std::string folder, reason;
    };
    for (auto const& [folder, reason] :
         {refusal{dir.path() + "/missing", "RELAY_CONSOLE_DIR: cannot read " + dir.path() + "/missing"},
          refusal{dir.path() + "/empty", "RELAY_CONSOLE_DIR: " + dir.path() + "/empty holds no index.html"},
          refusal{dir.path() + "/no-index", "RELAY_CONSOLE_DIR: " + dir.path() + "/no-index holds no index.html"}}) {
        CAPTURE(folder);
        auto [status, out] = run_relayd({}, {{"RELAY_CONSOLE_DIR", folder}, {"RELAY_PORT", "0"}, {"RELAY_DATABASE", ":memory:"}});
        CAPTURE(out);
        CHECK(status == 1);
        CHECK(out.find("relayd: " + reason) != std::string::npos);
        CHECK(out.find("listening") == std::string::npos);
    }
}
