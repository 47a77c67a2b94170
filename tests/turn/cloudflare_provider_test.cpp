// The Cloudflare provider against a local HTTPS stand-in of generate-ice-servers, with a CA the
// test makes: what it sends, how it normalizes, retries, time-outs, caching, refresh,
// certificate checks, and that it never hands out credentials it does not have.
#include "cloudflare_stand_in.hpp"
#include "processes.hpp"

#include <relay/telemetry/metrics.hpp>
#include <relay/turn/cloudflare.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <thread>

using namespace relay;
using namespace turn_test;
using namespace std::chrono_literals;

namespace {

test_pki const& pki()
{
    // Certificates cost a few openssl runs: make them once per test process.
    static relay::support::temp_dir dir;
    static test_pki made(dir.path());
    return made;
}

/** Asks `p` for credentials that must be refused; the reason it gives. */
std::string refusal(turn::cloudflare_provider& p)
{
    auto c = p.credentials("u-1", 3600s);
    REQUIRE_FALSE(c.has_value());
    return c.error().reason;
}

/** A stand-in with the test CA's certificate, a fake clock, and fast retry settings. */
struct fixture {
    cloudflare_stand_in api{pki().server_cert, pki().server_key};
    std::atomic<std::int64_t> unix_now{1'800'000'000};

    turn::cloudflare_options options(int attempts = 3)
    {
        turn::cloudflare_options o;
        o.key_id = "key-123";
        o.api_token = "tok-secret";
        o.api_base = api.base_url();
        o.stun_urls = {"stun:stun.example.com:3478", "stun:stun.cloudflare.com:3478"};
        o.ca_file = pki().ca_cert;
        o.connect_timeout = 2000ms;
        o.read_timeout = 2000ms;
        o.attempts = attempts;
        o.backoff = 20ms;
        o.failure_hold = 0s;
        o.clock = [this] { return std::chrono::system_clock::time_point(std::chrono::seconds(unix_now.load())); };
        return o;
    }

    void advance(std::chrono::seconds by) { unix_now += by.count(); }

    /** The API answers every request with `reply`, so `p` refuses: the reason it gives. */
    std::string refused_with(turn::cloudflare_provider& p, canned_reply reply)
    {
        api.set_default(std::move(reply));
        return refusal(p);
    }
};

bool contains(std::string const& text, std::string const& part)
{
    return text.find(part) != std::string::npos;
}

canned_reply ok(std::string const& username, std::string const& credential)
{
    return {201, cloudflare_body(username, credential)};
}

} // namespace

TEST_CASE("cloudflare: a 201 is normalized into the contract's object, and the request is what Cloudflare wants")
{
    fixture f;
    turn::cloudflare_provider p(f.options());
    CHECK(p.name() == "cloudflare");

    auto c = p.credentials("u-42", 3600s);
    REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().reason));
    CHECK(c->username == "user-1");
    CHECK(c->credential == "cred-1");
    CHECK(c->ttl == 3600);
    CHECK(c->expires_at == f.unix_now + 3600);
    // aiortc uses only the first TURN URL: UDP first, then TCP (3478, 80), then TLS (443, 5349);
    // port 53, which browsers time out on, is never handed out.
    CHECK(c->urls == std::vector<std::string>{"turn:turn.cloudflare.com:3478?transport=udp",
                                              "turn:turn.cloudflare.com:3478?transport=tcp",
                                              "turn:turn.cloudflare.com:80?transport=tcp",
                                              "turns:turn.cloudflare.com:443?transport=tcp",
                                              "turns:turn.cloudflare.com:5349?transport=tcp"});
    REQUIRE(c->ice_servers.size() == 2);
    CHECK(c->ice_servers[0].urls == c->urls);
    CHECK(c->ice_servers[0].username == "user-1");
    CHECK(c->ice_servers[0].credential == "cred-1");
    // Cloudflare's STUN URLs (but the one on port 53) plus RELAY_STUN_URLS, once each.
    CHECK(c->ice_servers[1].urls == std::vector<std::string>{"stun:stun.cloudflare.com:3478",
                                                             "stun:stun.example.com:3478"});
    CHECK_FALSE(c->ice_servers[1].credential);

    auto seen = f.api.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].target == "/v1/turn/keys/key-123/credentials/generate-ice-servers");
    CHECK(seen[0].authorization == "Bearer tok-secret");
    CHECK(seen[0].content_type == "application/json");
    CHECK(seen[0].host == "127.0.0.1:" + std::to_string(f.api.port()));
    CHECK(boost::json::parse(seen[0].body) == boost::json::parse(R"({"ttl":3600})"));
}

TEST_CASE("cloudflare: TTLs beyond Cloudflare's 48 h are capped")
{
    fixture f;
    turn::cloudflare_provider p(f.options());
    auto c = p.credentials("u-1", std::chrono::hours(24 * 7));
    REQUIRE(c.has_value());
    CHECK(c->ttl == 172800);
    CHECK(boost::json::parse(f.api.requests().at(0).body) == boost::json::parse(R"({"ttl":172800})"));
}

TEST_CASE("cloudflare: 4xx answers are not retried and say what to check")
{
    fixture f;
    auto o = f.options();
    o.failure_hold = 60s;
    turn::cloudflare_provider p(o);

    f.api.set_default({401, R"({"errors":[{"code":10000,"message":"Authentication error"}]})"});
    auto c = p.credentials("u-1", 3600s);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().code == make_error_code(errc::turn_unavailable));
    CHECK(contains(c.error().reason, "HTTP 401"));
    CHECK(contains(c.error().reason, "RELAY_CF_TURN_API_TOKEN"));
    CHECK_FALSE(contains(c.error().reason, "tok-secret"));
    CHECK(f.api.request_count() == 1);
    // /health says the same, without asking again.
    CHECK(p.health() == c.error().reason);
    CHECK(f.api.request_count() == 1);
}

TEST_CASE("cloudflare: an unknown key is a 404 that names RELAY_CF_TURN_KEY_ID")
{
    fixture f;
    turn::cloudflare_provider p(f.options());
    auto const reason = f.refused_with(p, {404, "{}"});
    CHECK(contains(reason, "HTTP 404"));
    CHECK(contains(reason, "RELAY_CF_TURN_KEY_ID"));
    CHECK(f.api.request_count() == 1);
}

TEST_CASE("cloudflare: 5xx answers are retried, then reported")
{
    fixture f;
    turn::cloudflare_provider p(f.options());

    SUBCASE("every attempt fails")
    {
        auto const reason = f.refused_with(p, {503, "upstream unavailable"});
        CHECK(contains(reason, "HTTP 503"));
        CHECK(contains(reason, "3 attempts"));
        CHECK(f.api.request_count() == 3);
    }
    SUBCASE("a retry succeeds")
    {
        f.api.script({{500, "oops"}, {502, "bad gateway"}});
        auto c = p.credentials("u-1", 3600s);
        REQUIRE(c.has_value());
        CHECK(c->username == "user-1");
        CHECK(f.api.request_count() == 3);
    }
}

TEST_CASE("cloudflare: an API that never answers times out, is retried, and is reported")
{
    fixture f;
    auto o = f.options(2);
    o.read_timeout = 300ms;
    turn::cloudflare_provider p(o);
    f.api.set_default({201, "", 0ms, true});

    auto started = std::chrono::steady_clock::now();
    auto c = p.credentials("u-1", 3600s);
    auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(c.has_value());
    CHECK(contains(c.error().reason, "no answer within 300 ms"));
    CHECK(contains(c.error().reason, "2 attempts"));
    CHECK(f.api.request_count() == 2);
    CHECK(took >= 600ms);
    CHECK(took < 5s);
}

TEST_CASE("cloudflare: credentials are cached per subject")
{
    fixture f;
    telemetry::registry metrics;
    auto o = f.options();
    o.metrics = &metrics;
    turn::cloudflare_provider p(o);

    auto a = p.credentials("u-1", 3600s);
    f.advance(100s);
    auto b = p.credentials("u-1", 3600s);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(f.api.request_count() == 1);
    CHECK(b->credential == a->credential);
    CHECK(b->expires_at == a->expires_at);
    CHECK(b->ttl == 3500); // what is left, not what was issued

    f.api.set_default(ok("user-2", "cred-2"));
    auto other = p.credentials("u-2", 3600s);
    REQUIRE(other.has_value());
    CHECK(other->username == "user-2");
    CHECK(f.api.request_count() == 2);

    CHECK(metrics.get_counter("relay_turn_api_requests_total", "", {{"outcome", "ok"}}).value() == 2);
    CHECK(metrics.get_counter("relay_turn_cache_hits_total", "").value() == 1);
}

TEST_CASE("cloudflare: a burst of requests for one subject costs one API call")
{
    fixture f;
    f.api.set_default({201, cloudflare_body("user-1", "cred-1"), 300ms});
    turn::cloudflare_provider p(f.options());

    std::vector<std::thread> callers;
    std::vector<std::string> got(8);
    for (std::size_t i = 0; i < got.size(); ++i)
        callers.emplace_back([&p, &got, i] {
            auto c = p.credentials("u-1", 3600s);
            got[i] = c ? c->credential : "failed: " + c.error().reason;
        });
    for (auto& t : callers)
        t.join();
    CHECK(f.api.request_count() == 1);
    for (auto const& g : got)
        CHECK(g == "cred-1");
}

TEST_CASE("cloudflare: a credential is reissued once less than a quarter of its lifetime is left")
{
    fixture f;
    turn::cloudflare_provider p(f.options());
    auto first = p.credentials("u-1", 1000s);
    REQUIRE(first.has_value());

    f.advance(740s); // 260 s left: still more than a quarter
    auto same = p.credentials("u-1", 1000s);
    REQUIRE(same.has_value());
    CHECK(same->credential == "cred-1");
    CHECK(same->ttl == 260);
    CHECK(f.api.request_count() == 1);

    f.advance(20s); // 240 s left: time for a new one
    f.api.set_default(ok("user-2", "cred-2"));
    auto fresh = p.credentials("u-1", 1000s);
    REQUIRE(fresh.has_value());
    CHECK(fresh->credential == "cred-2");
    CHECK(fresh->ttl == 1000);
    CHECK(fresh->expires_at == f.unix_now + 1000);
    CHECK(f.api.request_count() == 2);
}

TEST_CASE("cloudflare: during an outage a still-valid cached credential is served, an expired one never")
{
    fixture f;
    turn::cloudflare_provider p(f.options());
    auto first = p.credentials("u-1", 1000s);
    REQUIRE(first.has_value());
    CHECK(p.health().empty());

    f.api.set_default({503, ""});
    f.advance(800s); // due for refresh, 200 s left
    auto during = p.credentials("u-1", 1000s);
    REQUIRE(during.has_value());
    CHECK(during->credential == "cred-1");
    CHECK(during->ttl == 200);
    CHECK(f.api.request_count() == 4); // the refresh was tried (three attempts)
    CHECK(contains(p.health(), "HTTP 503"));

    f.advance(180s); // 20 s left: too little to allocate with
    auto late = p.credentials("u-1", 1000s);
    REQUIRE_FALSE(late.has_value());
    CHECK(contains(late.error().reason, "HTTP 503"));

    // A subject with nothing cached gets the failure too.
    auto stranger = p.credentials("u-2", 1000s);
    REQUIRE_FALSE(stranger.has_value());
}

TEST_CASE("cloudflare: after a failure, callers without a cached credential fail fast for failure_hold")
{
    fixture f;
    auto o = f.options(1);
    o.failure_hold = 5s;
    turn::cloudflare_provider p(o);

    f.api.set_default({500, ""});
    auto a = p.credentials("u-1", 3600s);
    REQUIRE_FALSE(a.has_value());
    CHECK(f.api.request_count() == 1);
    f.api.set_default(ok("user-1", "cred-1"));
    auto b = p.credentials("u-2", 3600s);
    REQUIRE_FALSE(b.has_value());
    CHECK(b.error().reason == a.error().reason);
    CHECK(f.api.request_count() == 1);

    f.advance(6s);
    auto c = p.credentials("u-2", 3600s);
    REQUIRE(c.has_value());
    CHECK(f.api.request_count() == 2);
}

TEST_CASE("cloudflare: health() asks the API when it knows nothing recent")
{
    fixture f;
    auto o = f.options();
    o.health_interval = 60s;
    turn::cloudflare_provider p(o);
    CHECK(p.health().empty());
    REQUIRE(f.api.request_count() == 1);
    CHECK(boost::json::parse(f.api.requests()[0].body) == boost::json::parse(R"({"ttl":300})"));
    CHECK(p.health().empty());
    CHECK(f.api.request_count() == 1); // recent enough
    f.advance(61s);
    f.api.set_default({403, ""});
    CHECK(contains(p.health(), "HTTP 403"));
    CHECK(f.api.request_count() == 2);
}

TEST_CASE("cloudflare: an API that is down is unavailable, and health() says so")
{
    fixture f;
    auto o = f.options();
    o.api_base = "https://127.0.0.1:" + std::to_string(closed_port()) + "/v1";
    turn::cloudflare_provider p(o);
    auto const reason = refusal(p);
    CHECK(contains(reason, "unreachable"));
    CHECK(contains(reason, "3 attempts"));
    auto problem = p.health();
    CHECK(contains(problem, "unreachable"));
}

TEST_CASE("cloudflare: certificates are verified, and a failure is not retried")
{
    fixture f;
    auto o = f.options();
    o.backoff = 2000ms; // a retry would show in the time taken

    SUBCASE("a CA nobody configured")
    {
        o.ca_file.clear();
        turn::cloudflare_provider p(o);
        auto started = std::chrono::steady_clock::now();
        auto const reason = refusal(p);
        CHECK(contains(reason, "not trusted"));
        CHECK(std::chrono::steady_clock::now() - started < 2000ms);
    }
    SUBCASE("another CA than the one that signed")
    {
        o.ca_file = pki().unknown_ca_cert;
        turn::cloudflare_provider p(o);
        auto const reason = refusal(p);
        CHECK(contains(reason, "not trusted"));
    }
    // The token is sent only after the certificate checked out.
    CHECK(f.api.request_count() == 0);
}

TEST_CASE("cloudflare: a certificate for another host name is refused")
{
    fixture f;
    cloudflare_stand_in imposter(pki().other_host_cert, pki().other_host_key);
    auto o = f.options();
    o.api_base = imposter.base_url();
    turn::cloudflare_provider p(o);
    auto const reason = refusal(p);
    CHECK(contains(reason, "not trusted"));
    CHECK(contains(reason, "hostname mismatch"));
    CHECK(imposter.request_count() == 0);
}

TEST_CASE("cloudflare: the host name in the base URL is verified and sent as SNI")
{
    fixture f;
    auto o = f.options();
    o.api_base = "https://localhost:" + std::to_string(f.api.port()) + "/v1/";
    turn::cloudflare_provider p(o);
    auto c = p.credentials("u-1", 3600s);
    REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().reason));
    auto seen = f.api.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].host == "localhost:" + std::to_string(f.api.port()));
    CHECK(seen[0].target == "/v1/turn/keys/key-123/credentials/generate-ice-servers");
}

TEST_CASE("cloudflare: answers that are not usable ICE servers are failures, not credentials")
{
    fixture f;
    turn::cloudflare_provider p(f.options());
    auto refused = [&](std::string body, std::string const& expect) {
        auto const reason = f.refused_with(p, {201, std::move(body)});
        CHECK_MESSAGE(contains(reason, expect), reason);
    };
    refused("not json", "not a JSON object");
    refused("{}", "without an iceServers list");
    refused(R"({"iceServers":[{"urls":["stun:stun.cloudflare.com:3478"]}]})", "no TURN server");
    refused(R"({"iceServers":[{"urls":["turn:turn.cloudflare.com:3478"]}]})", "without a username and credential");
    refused(R"({"iceServers":[{"urls":42}]})", "not an RTCIceServer");
}

TEST_CASE("cloudflare: an older answer with STUN and TURN in one entry is split")
{
    fixture f;
    f.api.set_default({201, R"({"iceServers":[{"urls":["stun:stun.cloudflare.com:3478",
        "turns:turn.cloudflare.com:443?transport=tcp","turn:turn.cloudflare.com:3478?transport=udp"],
        "username":"u","credential":"c"}]})"});
    auto o = f.options();
    o.stun_urls.clear();
    turn::cloudflare_provider p(o);
    auto c = p.credentials("u-1", 3600s);
    REQUIRE(c.has_value());
    CHECK(c->urls == std::vector<std::string>{"turn:turn.cloudflare.com:3478?transport=udp",
                                              "turns:turn.cloudflare.com:443?transport=tcp"});
    REQUIRE(c->ice_servers.size() == 2);
    CHECK(c->ice_servers[1].urls == std::vector<std::string>{"stun:stun.cloudflare.com:3478"});
}

TEST_CASE("cloudflare provider refuses an unusable configuration")
{
    fixture f;
    auto refused = [](turn::cloudflare_options o, std::string const& expect) {
        try {
            turn::cloudflare_provider p(std::move(o));
            FAIL("accepted a configuration it should refuse: ", expect);
        } catch (std::invalid_argument const& e) {
            CHECK_MESSAGE(contains(e.what(), expect), e.what());
        }
    };
    // Each row changes one setting of otherwise good options.
    struct bad_setting {
        std::function<void(turn::cloudflare_options&)> change;
        char const* expect;
    };
    std::initializer_list<bad_setting> const rows{
        {[](auto& o) { o.api_base = "http://127.0.0.1:1/v1"; }, "https://"},
        {[](auto& o) { o.api_base = "https://user@rtc.example/v1"; }, "without user info"},
        {[](auto& o) { o.api_base = "https://rtc.example:99999/v1"; }, "invalid port"},
        {[](auto& o) { o.key_id = "../admin"; }, "RELAY_CF_TURN_KEY_ID"},
        {[](auto& o) { o.api_token.clear(); }, "RELAY_CF_TURN_API_TOKEN"},
        {[](auto& o) { o.ca_file = "/nonexistent/ca.pem"; }, "cannot load CA file"},
    };
    for (auto const& [change, expect] : rows) {
        auto o = f.options();
        change(o);
        refused(o, expect);
    }
}
