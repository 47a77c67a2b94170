// The coturn and none providers on their own: the TURN REST API signature against a pinned
// vector, URL ordering, secret rotation, expiry, and the shape of the answer.
#include <relay/turn/coturn.hpp>
#include <relay/turn/none.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <stdexcept>

using namespace relay;
using namespace std::chrono_literals;

namespace {

/** 2026-11-21T20:15:03Z minus one day: an expiry of exactly 1795380903 after a 24 h TTL. */
constexpr std::int64_t frozen_now = 1795380903 - 86400;

turn::clock_function frozen_clock()
{
    return [] { return std::chrono::system_clock::time_point(std::chrono::seconds(frozen_now)); };
}

turn::coturn_options base_options()
{
    turn::coturn_options o;
    o.secrets = {"north-shared-secret"};
    o.turn_urls = {"turn:turn.example.com:3478?transport=udp"};
    o.clock = frozen_clock();
    return o;
}

} // namespace

TEST_CASE("rest_api_credential matches openssl dgst -sha1 -hmac")
{
    // printf %s '1795380903:u-42' | openssl dgst -sha1 -hmac north-shared-secret -binary | base64
    CHECK(turn::rest_api_credential("north-shared-secret", "1795380903:u-42") == "8NJFGz84DCTslrUBciQ20pC2AVU=");
    // ... and with the secret a rotation retires.
    CHECK(turn::rest_api_credential("old-shared-secret", "1795380903:u-42") == "38ai1i9pb0jJMraWxaQv7Mf6+DY=");
    // RFC 2202 test case 2 (HMAC-SHA1, key "Jefe"): effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
    CHECK(turn::rest_api_credential("Jefe", "what do ya want for nothing?") == "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}

TEST_CASE("secret_fingerprint is the first 8 hex digits of SHA-256")
{
    // printf %s abc | sha256sum → ba7816bf8f01cfea…
    CHECK(turn::secret_fingerprint("abc") == "ba7816bf");
    CHECK(turn::secret_fingerprint("north-shared-secret").size() == 8);
    CHECK(turn::secret_fingerprint("north-shared-secret") != turn::secret_fingerprint("old-shared-secret"));
}

TEST_CASE("coturn credentials: expiry:subject signed with the first secret")
{
    auto o = base_options();
    o.secrets = {"north-shared-secret", "old-shared-secret"};
    turn::coturn_provider p(o);
    CHECK(p.name() == "coturn");
    CHECK(p.health().empty());

    auto c = p.credentials("u-42", 86400s);
    REQUIRE(c.has_value());
    CHECK(c->username == "1795380903:u-42");
    CHECK(c->credential == "8NJFGz84DCTslrUBciQ20pC2AVU=");
    CHECK(c->ttl == 86400);
    CHECK(c->expires_at == 1795380903);
    // The retiring secret is never used to sign.
    CHECK(c->credential != turn::rest_api_credential("old-shared-secret", c->username));

    // Rotation: once the new secret is listed first, it signs.
    o.secrets = {"old-shared-secret", "north-shared-secret"};
    turn::coturn_provider rotated(o);
    auto r = rotated.credentials("u-42", 86400s);
    REQUIRE(r.has_value());
    CHECK(r->credential == "38ai1i9pb0jJMraWxaQv7Mf6+DY=");
}

TEST_CASE("coturn credentials follow the requested TTL and the clock")
{
    auto o = base_options();
    std::int64_t t = frozen_now;
    o.clock = [&t] { return std::chrono::system_clock::time_point(std::chrono::seconds(t)); };
    turn::coturn_provider p(o);
    auto a = p.credentials("u-1", 600s);
    REQUIRE(a.has_value());
    CHECK(a->ttl == 600);
    CHECK(a->expires_at == frozen_now + 600);
    CHECK(a->username == std::to_string(frozen_now + 600) + ":u-1");
    t += 10;
    auto b = p.credentials("u-1", 600s);
    REQUIRE(b.has_value());
    CHECK(b->expires_at == frozen_now + 610);
    CHECK(b->credential != a->credential);
    CHECK(b->credential == turn::rest_api_credential("north-shared-secret", b->username));
}

TEST_CASE("order_turn_urls puts UDP first, then TCP, then TLS, keeping each group's order")
{
    std::vector<std::string> in{
        "turns:t.example:5349?transport=tcp",
        "turn:t.example:3478?transport=tcp",
        "turn:t.example:3478",
        "TURN:t.example:80?transport=TCP",
        "turn:t.example:53?transport=udp",
        "turns:t.example:443",
    };
    auto out = turn::order_turn_urls(in);
    CHECK(out == std::vector<std::string>{
                     "turn:t.example:3478",
                     "turn:t.example:53?transport=udp",
                     "turn:t.example:3478?transport=tcp",
                     "TURN:t.example:80?transport=TCP",
                     "turns:t.example:5349?transport=tcp",
                     "turns:t.example:443",
                 });
    CHECK(turn::is_turn_url("turns:x"));
    CHECK(turn::is_turn_url("TURN:x"));
    CHECK_FALSE(turn::is_turn_url("stun:x"));
    CHECK(turn::is_stun_url("stun:x"));
    CHECK(turn::is_stun_url("stuns:x"));
    CHECK_FALSE(turn::is_stun_url("turn:x"));
}

TEST_CASE("usable_turn_urls: Cloudflare's list without port 53 and duplicates, UDP 3478, TCP 3478 then 80, TLS 443 then 5349")
{
    // Cloudflare's generate-ice-servers answer, in its own order, with one URL twice.
    std::vector<std::string> cloudflare{
        "turn:turn.cloudflare.com:3478?transport=udp", "turn:turn.cloudflare.com:53?transport=udp",
        "turn:turn.cloudflare.com:3478?transport=tcp", "turn:turn.cloudflare.com:80?transport=tcp",
        "turns:turn.cloudflare.com:5349?transport=tcp", "turns:turn.cloudflare.com:443?transport=tcp",
        "turn:turn.cloudflare.com:3478?transport=udp",
    };
    CHECK(turn::usable_turn_urls(cloudflare) == std::vector<std::string>{
                                                    "turn:turn.cloudflare.com:3478?transport=udp",
                                                    "turn:turn.cloudflare.com:3478?transport=tcp",
                                                    "turn:turn.cloudflare.com:80?transport=tcp",
                                                    "turns:turn.cloudflare.com:443?transport=tcp",
                                                    "turns:turn.cloudflare.com:5349?transport=tcp",
                                                });
    // Preferred ports first in each group, others after them in their order; no port means the
    // scheme's default (3478, 5349 for turns:); IPv6 literals are read.
    std::vector<std::string> mixed{
        "turns:t.example:8443",          "turns:t.example",      "turn:t.example:5000",
        "TURN:[2001:db8::1]:80?transport=TCP", "turn:[2001:db8::1]:3478?transport=tcp", "turn:t.example",
        "turn:t.example:53",             "turns:t.example:443?transport=tcp",
    };
    CHECK(turn::usable_turn_urls(mixed) == std::vector<std::string>{
                                               "turn:t.example", "turn:t.example:5000",
                                               "turn:[2001:db8::1]:3478?transport=tcp",
                                               "TURN:[2001:db8::1]:80?transport=TCP",
                                               "turns:t.example:443?transport=tcp", "turns:t.example",
                                               "turns:t.example:8443",
                                           });
    CHECK(turn::usable_stun_urls({"stun:s.example:53", "stun:s.example:3478", "stun:s.example", "stun:s.example:3478"}) ==
          std::vector<std::string>{"stun:s.example:3478", "stun:s.example"});
    CHECK(turn::is_port_53_url("stun:stun.cloudflare.com:53"));
    CHECK(turn::is_port_53_url("turn:[::1]:53?transport=tcp"));
    CHECK_FALSE(turn::is_port_53_url("turn:dns53.example:3478"));
    CHECK_FALSE(turn::is_port_53_url("turn:t.example:5353"));
}

TEST_CASE("coturn answer: RELAY_TURN_URLS and RELAY_STUN_URLS on port 53 are never handed out")
{
    auto o = base_options();
    o.turn_urls = {"turn:turn.example.com:53?transport=udp", "turns:turn.example.com:5349?transport=tcp",
                   "turns:turn.example.com:443?transport=tcp", "turn:turn.example.com:3478?transport=udp"};
    o.stun_urls = {"stun:stun.example.com:53", "stun:stun.example.com:3478"};
    turn::coturn_provider p(o);
    auto c = p.credentials("u-42", 86400s);
    REQUIRE(c.has_value());
    CHECK(c->urls == std::vector<std::string>{"turn:turn.example.com:3478?transport=udp",
                                              "turns:turn.example.com:443?transport=tcp",
                                              "turns:turn.example.com:5349?transport=tcp"});
    REQUIRE(c->ice_servers.size() == 2);
    CHECK(c->ice_servers[1].urls == std::vector<std::string>{"stun:stun.example.com:3478"});
}

TEST_CASE("coturn answer: UDP URL first, STUN in its own entry, the wire form of the contract")
{
    auto o = base_options();
    o.turn_urls = {"turns:turn.example.com:5349?transport=tcp", "turn:turn.example.com:3478?transport=tcp",
                   "turn:turn.example.com:3478?transport=udp"};
    o.stun_urls = {"stun:stun.example.com:3478", "stun:stun.example.com:3478", "stun:stun2.example.com"};
    turn::coturn_provider p(o);
    auto c = p.credentials("u-42", 86400s);
    REQUIRE(c.has_value());
    CHECK(c->urls == std::vector<std::string>{"turn:turn.example.com:3478?transport=udp",
                                              "turn:turn.example.com:3478?transport=tcp",
                                              "turns:turn.example.com:5349?transport=tcp"});
    REQUIRE(c->ice_servers.size() == 2);
    CHECK(c->ice_servers[0].urls == c->urls);
    CHECK(c->ice_servers[0].username == c->username);
    CHECK(c->ice_servers[0].credential == c->credential);
    CHECK(c->ice_servers[1].urls == std::vector<std::string>{"stun:stun.example.com:3478", "stun:stun2.example.com"});
    CHECK_FALSE(c->ice_servers[1].username);

    auto json = boost::json::value_from(*c);
    auto expected = boost::json::parse(R"({"urls":["turn:turn.example.com:3478?transport=udp",
        "turn:turn.example.com:3478?transport=tcp","turns:turn.example.com:5349?transport=tcp"],
        "username":"1795380903:u-42","credential":"8NJFGz84DCTslrUBciQ20pC2AVU=","ttl":86400,"expires_at":1795380903,
        "ice_servers":[{"urls":["turn:turn.example.com:3478?transport=udp","turn:turn.example.com:3478?transport=tcp",
        "turns:turn.example.com:5349?transport=tcp"],"username":"1795380903:u-42","credential":"8NJFGz84DCTslrUBciQ20pC2AVU="},
        {"urls":["stun:stun.example.com:3478","stun:stun2.example.com"]}]})");
    CHECK(json == expected);
}

TEST_CASE("coturn provider refuses an unusable configuration")
{
    auto refused = [](turn::coturn_options o, std::string const& expect) {
        try {
            turn::coturn_provider p(std::move(o));
            FAIL("accepted a configuration it should refuse: ", expect);
        } catch (std::invalid_argument const& e) {
            CHECK(std::string(e.what()).find(expect) != std::string::npos);
        }
    };
    auto o = base_options();
    o.secrets.clear();
    refused(o, "RELAY_TURN_SECRET");
    o = base_options();
    o.secrets = {"a", ""};
    refused(o, "empty secret");
    o = base_options();
    o.turn_urls.clear();
    refused(o, "RELAY_TURN_URLS");
    o = base_options();
    o.turn_urls = {"stun:turn.example.com"};
    refused(o, "is not a turn: or turns: URL");
    o = base_options();
    o.turn_urls = {"turn:turn.example.com:53?transport=udp", "turn:turn.example.com:53?transport=tcp"};
    refused(o, "every URL is on port 53");
}

TEST_CASE("none provider: STUN only, never fails")
{
    turn::none_provider p({"stun:stun.example.com:3478"}, frozen_clock());
    CHECK(p.name() == "none");
    CHECK(p.health().empty());
    auto c = p.credentials("u-1", 3600s);
    REQUIRE(c.has_value());
    CHECK(c->urls.empty());
    CHECK(c->username.empty());
    CHECK(c->credential.empty());
    CHECK(c->ttl == 3600);
    CHECK(c->expires_at == frozen_now + 3600);
    REQUIRE(c->ice_servers.size() == 1);
    CHECK(c->ice_servers[0].urls == std::vector<std::string>{"stun:stun.example.com:3478"});

    turn::none_provider bare({}, frozen_clock());
    auto e = bare.credentials("u-1", 3600s);
    REQUIRE(e.has_value());
    CHECK(e->ice_servers.empty());
    CHECK(boost::json::value_from(*e).at("ice_servers").as_array().empty());
}

TEST_CASE("a failure converts to a system_error carrying the reason")
{
    turn::credentials_result r = turn::failure{make_error_code(errc::turn_unavailable), "TURN is down"};
    REQUIRE_FALSE(r.has_value());
    try {
        (void)r.value();
        FAIL("value() did not throw");
    } catch (boost::system::system_error const& e) {
        CHECK(e.code() == make_error_code(errc::turn_unavailable));
        CHECK(std::string(e.what()).find("TURN is down") != std::string::npos);
    }
}
