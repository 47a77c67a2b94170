// What an operator scrapes: store latency by operation after real requests, and the private
// metrics listener (RELAY_METRICS_HOST, RELAY_METRICS_PORT) that takes /metrics off the public port.
#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>

using namespace relay::test;

namespace {

// The value of one series in a /metrics body, or -1 when the series is absent.
long long series_value(std::string const& body, std::string const& series)
{
    auto at = body.find("\n" + series + " ");
    if (at == std::string::npos)
        return -1;
    return std::stoll(body.substr(at + 1 + series.size() + 1));
}

long long store_calls(std::string const& body, std::string const& op)
{
    return series_value(body, "relay_store_duration_seconds_count{op=\"" + op + "\"}");
}

// The port of the private metrics listener, from relayd's JSON log.
std::uint16_t metrics_port_of(relayd_process const& relayd)
{
    auto out = relayd.output();
    auto at = out.find("\"event\":\"metrics_listening\"");
    REQUIRE_MESSAGE(at != std::string::npos, out);
    auto p = out.find("\"port\":", at);
    REQUIRE(p != std::string::npos);
    return static_cast<std::uint16_t>(std::atoi(out.c_str() + p + std::strlen("\"port\":")));
}

} // namespace

TEST_CASE("store calls are timed by operation, and the series move with requests")
{
    relayd_process relayd(test_env());
    auto before = http_get(relayd.port(), "/metrics").body;
    CHECK(before.find("# TYPE relay_store_duration_seconds histogram") != std::string::npos);
    // Start-up ends the sessions a previous process left open: the first store call of all.
    CHECK(store_calls(before, "end_open_sessions") == 1);
    CHECK(store_calls(before, "create_device") == -1);

    // Register and log in, then make a device, as an app does.
    auto owner = make_account(relayd.port(), "timed");
    auto device = make_device(relayd.port(), owner);
    auto after = http_get(relayd.port(), "/metrics").body;
    CHECK(store_calls(after, "create_user") >= 1);
    CHECK(store_calls(after, "find_user_by_email") >= 1);
    CHECK(store_calls(after, "insert_refresh_token") >= 1);
    CHECK(store_calls(after, "create_device") == 1);
    CHECK(after.find("relay_store_duration_seconds_bucket{op=\"create_device\",le=\"+Inf\"} 1\n") != std::string::npos);
    CHECK(after.find("relay_store_duration_seconds_sum{op=\"create_device\"} ") != std::string::npos);

    // A request that reads the store moves its operation's count.
    auto lists = store_calls(after, "list_devices_for_user");
    CHECK(http_get(relayd.port(), "/api/devices", owner.access_token).status == 200);
    CHECK(store_calls(http_get(relayd.port(), "/metrics").body, "list_devices_for_user") == std::max(lists, 0LL) + 1);

    // An unknown account is an answer of the store, not a failure of the database.
    auto miss = http_json(relayd.port(), "POST", "/api/auth/login",
                          boost::json::object{{"email", "nobody@example.com"}, {"password", "whatever it is"}});
    CHECK(miss.status == 401);
    CHECK(http_get(relayd.port(), "/metrics").body.find("relay_store_errors_total{") == std::string::npos);
}

TEST_CASE("with RELAY_METRICS_PORT, /metrics is served on the private listener only")
{
    relayd_process relayd(test_env({{"RELAY_METRICS_PORT", "0"}, {"RELAY_LOG_FORMAT", "json"}}));
    auto port = metrics_port_of(relayd);
    REQUIRE(port != 0);
    CHECK(port != relayd.port());
    CHECK(relayd.output().find("\"event\":\"metrics_listening\",\"host\":\"127.0.0.1\"") != std::string::npos);

    auto m = http_get(port, "/metrics");
    CHECK(m.status == 200);
    CHECK(m.header("content-type").starts_with("text/plain; version=0.0.4"));
    CHECK(m.body.find("# TYPE relay_http_requests_total counter") != std::string::npos);
    CHECK(m.body.find("relay_store_duration_seconds_count{op=\"end_open_sessions\"} 1\n") != std::string::npos);

    // The public port no longer has it, and keeps everything else.
    auto pub = http_get(relayd.port(), "/metrics");
    CHECK(pub.status == 404);
    CHECK(pub.error_code() == "NOT_FOUND");
    CHECK(http_get(relayd.port(), "/health").status == 200);

    // The private port has nothing else: no API, no WebSockets, no other method.
    CHECK(http_get(port, "/health").status == 404);
    CHECK(http_get(port, "/api/devices").status == 404);
    CHECK(ws_client::upgrade_status(port, "/ws/app") == 404);
    auto post = http_call(port, "POST", "/metrics");
    CHECK(post.status == 405);
    CHECK(post.header("allow") == "GET");

    // Scrapes are not HTTP API traffic: they do not move the request counter they report.
    auto requests = [&] { return series_value(http_get(port, "/metrics").body, "relay_http_requests_total"); };
    auto first = requests();
    CHECK(requests() == first);
    http_get(relayd.port(), "/health");
    CHECK(requests() == first + 1);

    // Store latency moves on the private listener as the public API is used.
    make_account(relayd.port(), "private");
    CHECK(store_calls(http_get(port, "/metrics").body, "create_user") == 1);
}

TEST_CASE("the private metrics listener refuses a Transfer-Encoding it cannot frame, and closes")
{
    relayd_process relayd(test_env({{"RELAY_METRICS_PORT", "0"}, {"RELAY_LOG_FORMAT", "json"}}));
    auto port = metrics_port_of(relayd);
    // The body is a second request: it must never be answered.
    auto reply = raw_exchange(port, "GET /metrics HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: identity\r\n\r\n"
                                    "GET /metrics HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n");
    CAPTURE(reply.bytes);
    CHECK(reply.bytes.starts_with("HTTP/1.1 400 "));
    CHECK(reply.bytes.find("relay_http_requests_total") == std::string::npos);
    CHECK(reply.closed);
    // A plain scrape still works.
    CHECK(http_get(port, "/metrics").status == 200);
}

TEST_CASE("a private metrics port that is taken or invalid is refused with one line")
{
    // A fixed secret and warnings only, so the refusal is the only line relayd writes.
    std::map<std::string, std::string> quiet{{"RELAY_JWT_SECRET", std::string(40, 'k')}, {"RELAY_LOG_LEVEL", "warn"}};
    relayd_process holder(test_env({{"RELAY_METRICS_PORT", "0"}, {"RELAY_LOG_FORMAT", "json"}}));
    auto taken = metrics_port_of(holder);

    auto env = quiet;
    env["RELAY_METRICS_PORT"] = std::to_string(taken);
    auto [st, out] = run_relayd({}, env);
    CAPTURE(out);
    CHECK(st == 1);
    CHECK(out.find("relayd: private metrics listener (RELAY_METRICS_HOST, RELAY_METRICS_PORT): cannot listen on 127.0.0.1:" +
                   std::to_string(taken) + ": ") == 0);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK(holder.running());

    auto refused = [&](std::map<std::string, std::string> extra, std::string const& expect) {
        auto e = quiet;
        e.insert(extra.begin(), extra.end());
        auto [code, text] = run_relayd({}, e);
        CAPTURE(text);
        CHECK(code == 2);
        CHECK(text.find(expect) != std::string::npos);
        CHECK(std::count(text.begin(), text.end(), '\n') == 1);
    };
    refused({{"RELAY_METRICS_PORT", "metrics"}}, "invalid RELAY_METRICS_PORT (from environment): is not a number");
    refused({{"RELAY_METRICS_HOST", "localhost"}, {"RELAY_METRICS_PORT", "9100"}},
            "invalid RELAY_METRICS_HOST (from environment): is not an IP address");
    refused({{"RELAY_PORT", "8123"}, {"RELAY_METRICS_PORT", "8123"}}, "RELAY_METRICS_PORT must differ from RELAY_PORT");
}
