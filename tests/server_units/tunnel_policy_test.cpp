// The REST tunnel's gatekeeping on its own: allow-list patterns, the path checks that stop
// traversal and encoding tricks, and the headers that never cross.
#include "server/tunnel.hpp"

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

using namespace relay::server;

namespace {

tunnel_policy policy_of(std::vector<std::string> const& entries)
{
    std::string why;
    auto p = tunnel_policy::parse(entries, why);
    REQUIRE_MESSAGE(p.has_value(), why);
    return *p;
}

/** One request and whether the allow list lets it through. */
struct verdict {
    char const* method;
    char const* path;
    bool allowed;
};

void check_verdicts(tunnel_policy const& policy, std::initializer_list<verdict> cases)
{
    for (auto const& c : cases) {
        CAPTURE(c.method);
        CAPTURE(c.path);
        CHECK(policy.allows(c.method, c.path) == c.allowed);
    }
}

} // namespace

TEST_CASE("tunnel policy: '*' is one segment, a final '**' one or more, methods by name or '*'")
{
    check_verdicts(policy_of({"GET /custom/*", "POST|put /things/**", "* /any", "DELETE /programs/*"}),
                   {
                       {"GET", "/custom/one", true},
                       {"GET", "/custom/one/two", false},
                       {"GET", "/custom", false},
                       {"POST", "/custom/one", false},
                       {"POST", "/things/a", true},
                       {"PUT", "/things/a/b/c", true}, // methods are upper-cased when parsed
                       {"PUT", "/things", false},
                       {"GET", "/things/a", false},
                       {"GET", "/any", true},
                       {"PATCH", "/any", true},
                       {"GET", "/any/more", false},
                       {"DELETE", "/programs/7", true},
                       {"DELETE", "/programs", false},
                       {"GET", "/custom/one/", true}, // a trailing '/' is no segment of its own here
                   });
}

TEST_CASE("tunnel policy: the default list is the field robot's API")
{
    check_verdicts(policy_of(tunnel_policy::default_entries()),
                   {
                       {"GET", "/status", true},
                       {"POST", "/missions/start", true},
                       {"GET", "/mode", true},
                       {"POST", "/mode", true},
                       {"GET", "/photos/2024/a.jpg", true},
                       {"PUT", "/mode", false},
                       {"POST", "/status", false},
                       {"GET", "/admin/shutdown", false},
                       {"GET", "/photos", false},
                   });
}

TEST_CASE("tunnel policy: malformed entries are refused with a reason")
{
    for (auto const* bad : {"GET", "GET status", "/status", "GET /a/**/b", "GET /a//b", "|GET /a", "GET|| /a"}) {
        CAPTURE(bad);
        std::string why;
        CHECK_FALSE(tunnel_policy::parse({bad}, why).has_value());
        CHECK_FALSE(why.empty());
    }
}

TEST_CASE("check_tunnel_path: ordinary paths pass")
{
    for (auto const* ok : {"/status", "/photos/2024/a.jpg", "/reports/dog/Rex%20II", "/a-b_c~d", "/caf%C3%A9"}) {
        CAPTURE(ok);
        CHECK(check_tunnel_path(ok).empty());
    }
}

TEST_CASE("check_tunnel_path: traversal, encoded separators and odd characters are refused")
{
    for (auto const* bad : {
             "",                    // not absolute
             "status",              // not absolute
             "/missions/../admin",  // traversal
             "/missions/./status",  // dot segment
             "/..",                 //
             "/missions//status",   // empty segment
             "/missions/%2e%2e/x",  // encoded dots
             "/photos/..%2Fsecret", // encoded '/'
             "/photos/a%5Cb",       // encoded '\'
             "/photos/a\\b",        // raw '\'
             "/photos/%252e%252e",  // encoded '%': double decoding
             "/photos/..;/admin",   // path parameters (Tomcat)
             "/a%3Bb",              // encoded ';'
             "/a%00b",              // NUL
             "/a%0d%0aSet-Cookie:", // CR LF
             "/a%zz",               // malformed escape
             "/a%4",                //
             "/a b",                // raw space
             "/a?b",                // a query inside the path
             "/a#b",                // a fragment
             "/http://evil/",       // absolute URL
             "/%C0%AE%C0%AE/x",     // overlong UTF-8 dots
             "/%FF",                // not UTF-8
             "/%C2%85",             // C1 control (NEL)
         }) {
        CAPTURE(bad);
        CHECK_FALSE(check_tunnel_path(bad).empty());
    }
}

TEST_CASE("tunnel headers: connection-level ones and credentials never cross")
{
    for (auto const* name : {"Connection", "keep-alive", "TE", "Transfer-Encoding", "Upgrade", "Host",
                             "Content-Length", "Authorization", "COOKIE", "Set-Cookie", "Proxy-Authorization"}) {
        CAPTURE(name);
        CHECK(is_stripped_header(name));
        CHECK(is_stripped_answer_header(name));
    }
    for (auto const* name : {"Accept", "Content-Type", "X-Request-Id", "If-None-Match"}) {
        CAPTURE(name);
        CHECK_FALSE(is_stripped_header(name));
        CHECK_FALSE(is_stripped_answer_header(name));
    }
}

TEST_CASE("tunnel headers: a robot's answer cannot set policy for the relay's origin")
{
    for (auto const* name : {"Strict-Transport-Security", "Content-Security-Policy", "X-Content-Type-Options",
                             "Access-Control-Allow-Origin", "access-control-allow-credentials", "Clear-Site-Data",
                             "Alt-Svc", "NEL", "Report-To", "Service-Worker-Allowed"}) {
        CAPTURE(name);
        CHECK(is_stripped_answer_header(name));
        CHECK_FALSE(is_stripped_header(name)); // a request may carry them
    }
    CHECK_FALSE(is_stripped_answer_header("Access-Control-")); // the prefix alone is no header
    CHECK_FALSE(is_stripped_answer_header("Cache-Control"));
}
