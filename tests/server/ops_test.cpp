// relayd's skeleton as a client sees it: config validation, --help/--version, /health,
// /stats, /metrics, request errors, and a clean stop on SIGTERM and SIGINT.
#include "support/clients.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <csignal>

using namespace relay::test;

TEST_CASE("relayd --version and --help")
{
    auto [st, out] = run_relayd({"--version"}, {});
    CHECK(st == 0);
    CHECK(out.find("relayd 0.") == 0);
    auto [hst, help] = run_relayd({"--help"}, {});
    CHECK(hst == 0);
    CHECK(help.find("usage:") != std::string::npos);
    CHECK(help.find("RELAY_TURN_PROVIDER") != std::string::npos);
    CHECK(help.find("--replay-max-total-bytes") != std::string::npos);
    CHECK(help.find("--config FILE") != std::string::npos);
    for (char const* setting : {"RELAY_CONSOLE ", "RELAY_CONSOLE_DIR", "RELAY_PUBLIC_URL", "--public-url"})
        CHECK_MESSAGE(help.find(setting) != std::string::npos, setting);
}

TEST_CASE("relayd refuses bad configuration with a one-line reason")
{
    auto refused = [](std::vector<std::string> args, std::map<std::string, std::string> env, std::string expect) {
        auto [st, out] = run_relayd(args, env);
        CAPTURE(out);
        CHECK(st == 2);
        CHECK(out.find(expect) != std::string::npos);
        CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    };
    refused({}, {{"RELAY_PORT", "99999"}}, "invalid RELAY_PORT (from environment): must be between 0 and 65535");
    refused({"--port", "abc"}, {}, "invalid RELAY_PORT (from flag): is not a number");
    refused({}, {{"RELAY_JWT_SECRET", "short"}}, "RELAY_JWT_SECRET (from environment): must be at least 32 bytes");
    refused({}, {{"RELAY_TURN_PROVIDER", "twilio"}}, "must be coturn, cloudflare or none");
    refused({}, {{"RELAY_TURN_PROVIDER", "coturn"}}, "RELAY_TURN_PROVIDER=coturn needs RELAY_TURN_SECRET");
    refused({}, {{"RELAY_LOG_FORMAT", "xml"}}, "must be text or json");
    refused({}, {{"RELAY_BUSY_POLL_US", "20000"}}, "invalid RELAY_BUSY_POLL_US (from environment): must be between 0 and 10000");
    refused({}, {{"RELAY_TLS_CERT", "/x.pem"}}, "must be set together");
    refused({}, {{"RELAY_DATABASE_POOL", "0"}}, "invalid RELAY_DATABASE_POOL (from environment): must be between 1 and 64");
    refused({"--database-statement-timeout", "0"}, {},
            "invalid RELAY_DATABASE_STATEMENT_TIMEOUT (from flag): must be between 1 and 600");
    refused({}, {{"RELAY_REPLAY_MAX_BYTES", "lots"}}, "invalid RELAY_REPLAY_MAX_BYTES (from environment): is not a number");
    refused({"--replay-max-total-bytes", "10"}, {},
            "invalid RELAY_REPLAY_MAX_TOTAL_BYTES (from flag): must be between 1024 and 1099511627776");
    refused({}, {{"RELAY_REPLAY_MAX_BYTES", "2000000"}, {"RELAY_REPLAY_MAX_TOTAL_BYTES", "1000000"}},
            "RELAY_REPLAY_MAX_BYTES (per device) must not exceed RELAY_REPLAY_MAX_TOTAL_BYTES");
    refused({"--config", "/nonexistent/relay.conf"}, {}, "cannot read config file /nonexistent/relay.conf");
    refused({"frobnicate"}, {}, "unknown command 'frobnicate'");
    refused({}, {{"RELAY_PUBLIC_URL", "ftp://relay.example.com"}},
            "invalid RELAY_PUBLIC_URL (from environment): must start with http:// or https://");
    refused({}, {{"RELAY_PUBLIC_URL", "relay.example.com"}}, "must be an absolute http:// or https:// URL");
    refused({}, {{"RELAY_PUBLIC_URL", "https://relay.example.com/#/x"}}, "must be an absolute http:// or https:// URL");
    refused({}, {{"RELAY_PUBLIC_URL", "https://relay.example.com/?a=1"}}, "must not have a query");
    refused({}, {{"RELAY_PUBLIC_URL", "https://ann:pw@relay.example.com"}}, "must not hold a user name or password");
    refused({"--public-url", "http:///console"}, {}, "invalid RELAY_PUBLIC_URL (from flag): must name a host");
}

TEST_CASE("flags win over the config file, which wins over the environment")
{
    temp_dir dir;
    auto conf = dir.path() + "/relay.conf";
    {
        std::FILE* f = std::fopen(conf.c_str(), "w");
        std::fputs("# comment\nRELAY_PORT=abc\nRELAY_LOG_FORMAT = \"json\"\n", f);
        std::fclose(f);
    }
    // The file's bad port beats the environment's good one...
    auto [st, out] = run_relayd({"--config", conf}, {{"RELAY_PORT", "0"}});
    CHECK(st == 2);
    CHECK(out.find("invalid RELAY_PORT (from config file)") != std::string::npos);
    // ...and a flag beats the file.
    relayd_process relayd({}, {"--config", conf, "--port", "0"});
    CHECK(http_get(relayd.port(), "/health").status == 200);
    CHECK(relayd.output().find("\"event\":\"listening\"") != std::string::npos);
}

TEST_CASE("health, stats and metrics")
{
    relayd_process relayd;
    auto h = http_get(relayd.port(), "/health");
    CHECK(h.status == 200);
    auto hj = h.json().as_object();
    CHECK(hj.at("status") == "ok");
    CHECK(hj.at("version").as_string().starts_with("0."));
    CHECK(hj.at("uptime_s").is_int64());
    CHECK(h.header("content-type") == "application/json");

    auto s = http_get(relayd.port(), "/stats").json().as_object();
    for (auto key : {"robots_online", "apps_connected", "webrtc_sessions", "messages_routed"})
        CHECK(s.contains(key));

    auto m = http_get(relayd.port(), "/metrics");
    CHECK(m.status == 200);
    CHECK(m.header("content-type").starts_with("text/plain; version=0.0.4"));
    CHECK(m.body.find("# TYPE relay_http_requests_total counter") != std::string::npos);
    // The counter moves with traffic.
    auto count = [&] {
        auto body = http_get(relayd.port(), "/metrics").body;
        auto at = body.find("\nrelay_http_requests_total ");
        REQUIRE(at != std::string::npos);
        return std::stoll(body.substr(at + 27));
    };
    auto before = count();
    http_get(relayd.port(), "/health");
    CHECK(count() >= before + 2);
}

TEST_CASE("unknown paths, wrong methods and garbage get JSON errors, and the relay stays up")
{
    relayd_process relayd;
    auto nf = http_get(relayd.port(), "/nope");
    CHECK(nf.status == 404);
    CHECK(nf.error_code() == "NOT_FOUND");
    auto wrong = http_call(relayd.port(), "DELETE", "/health");
    CHECK(wrong.status == 405);
    CHECK(wrong.error_code() == "METHOD_NOT_ALLOWED");
    CHECK(wrong.header("allow") == "GET");
    CHECK(ws_client::upgrade_status(relayd.port(), "/ws/nothing") == 404);
    CHECK(http_get(relayd.port(), "/health").status == 200);
}

TEST_CASE("relayd logs one line per request without the query string")
{
    relayd_process relayd(env_map{{"RELAY_LOG_FORMAT", "json"}});
    http_get(relayd.port(), "/health?token=secret-value");
    CHECK(relayd.stop(SIGTERM) == 0);
    auto out = relayd.output();
    CHECK(out.find("\"event\":\"http_request\"") != std::string::npos);
    CHECK(out.find("\"path\":\"/health\"") != std::string::npos);
    CHECK(out.find("secret-value") == std::string::npos);
    // Every line is a JSON object.
    std::size_t start = 0;
    while (start < out.size()) {
        auto end = out.find('\n', start);
        auto line = out.substr(start, end - start);
        boost::system::error_code ec;
        boost::json::parse(line, ec);
        CAPTURE(line);
        CHECK(!ec);
        start = end + 1;
    }
}

TEST_CASE("SIGTERM and SIGINT stop relayd cleanly with status 0")
{
    relayd_process a;
    CHECK(a.stop(SIGTERM) == 0);
    CHECK(a.output().find("stopped") != std::string::npos);
    relayd_process b;
    CHECK(b.stop(SIGINT) == 0);
}

TEST_CASE("a dev relay warns loudly about its generated JWT secret")
{
    relayd_process relayd(env_map{{"RELAY_DEV", "true"}});
    auto out = relayd.output();
    CHECK(out.find("RELAY_JWT_SECRET is not set") != std::string::npos);
    CHECK(out.find("dev_mode") != std::string::npos);
}

TEST_CASE("an API body over the limit is 413 BODY_TOO_LARGE, announced or chunked")
{
    relayd_process relayd;
    auto big = http_call(relayd.port(), "POST", "/api/auth/login", std::string(100 * 1024, ' '));
    CHECK(big.status == 413);
    CHECK(big.error_code() == "BODY_TOO_LARGE");
    CHECK(http_get(relayd.port(), "/health").status == 200);
}

TEST_CASE("X-Forwarded-For is believed only from a configured proxy")
{
    // Five bad logins "from 203.0.113.7" through the trusted proxy 127.0.0.1 lock that address only.
    relayd_process behind_proxy(env_map{{"RELAY_TRUSTED_PROXIES", "127.0.0.1"}, {"RELAY_SCRYPT_LN", "10"}});
    auto port = behind_proxy.port();
    int n = 0; // a new account each time, so only the per-address limit can trip
    auto login = [&](std::string const& xff) {
        auto body = R"({"email":"nobody)" + std::to_string(++n) + R"(@example.com","password":"wrong password"})";
        return http_call(port, "POST", "/api/auth/login", body, {{"X-Forwarded-For", xff}});
    };
    for (int i = 0; i < 30; ++i)
        CHECK(login("198.51.100.1, 203.0.113.7").status == 401);
    CHECK(login("203.0.113.7").status == 429);       // that client is throttled
    CHECK(login("203.0.113.8").status == 401);       // another one behind the same proxy is not
    CHECK(login("not-an-address").status == 401);   // garbage falls back to the proxy's own address

    // Without the setting, the header is ignored: a client cannot choose its address.
    relayd_process direct(env_map{{"RELAY_SCRYPT_LN", "10"}});
    for (int i = 0; i < 30; ++i)
        http_call(direct.port(), "POST", "/api/auth/login",
                  R"({"email":"x)" + std::to_string(i) + R"(@example.com","password":"wrong password"})",
                  {{"X-Forwarded-For", "203.0.113." + std::to_string(i)}});
    auto blocked = http_call(direct.port(), "POST", "/api/auth/login",
                             R"({"email":"y@example.com","password":"wrong password"})", {{"X-Forwarded-For", "192.0.2.1"}});
    CHECK(blocked.status == 429);
}
