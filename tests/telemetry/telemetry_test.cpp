#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

namespace {

std::string read_all(std::FILE* f)
{
    std::rewind(f);
    std::string out;
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    return out;
}

} // namespace

TEST_CASE("json log lines parse and carry every field")
{
    std::FILE* f = std::tmpfile();
    relay::telemetry::logger log(relay::telemetry::log_level::info, relay::telemetry::log_format::json, f);
    log.info("http_request", {{"method", "GET"}, {"status", 200}, {"ms", 1.5}, {"tls", false},
                              {"path", std::string("/a \"quoted\"\npath")}});
    log.debug("hidden");
    auto text = read_all(f);
    std::fclose(f);
    REQUIRE(text.back() == '\n');
    CHECK(text.find("hidden") == std::string::npos);
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    REQUIRE(!ec);
    auto const& o = v.as_object();
    CHECK(o.at("event") == "http_request");
    CHECK(o.at("level") == "info");
    CHECK(o.at("status").to_number<int>() == 200);
    CHECK(o.at("tls") == false);
    CHECK(o.at("path") == "/a \"quoted\"\npath");
    CHECK(o.at("ts").as_string().size() == 24);
}

TEST_CASE("text log lines quote values with spaces")
{
    std::FILE* f = std::tmpfile();
    relay::telemetry::logger log(relay::telemetry::log_level::debug, relay::telemetry::log_format::text, f);
    log.warn("config", {{"reason", "two words"}, {"port", 8000}});
    auto text = read_all(f);
    std::fclose(f);
    CHECK(text.find(" warn config reason=\"two words\" port=8000\n") != std::string::npos);
}

TEST_CASE("levels and formats parse")
{
    using namespace relay::telemetry;
    CHECK(parse_log_level("debug") == log_level::debug);
    CHECK(parse_log_level("warn") == log_level::warn);
    CHECK(!parse_log_level("verbose"));
    CHECK(parse_log_format("json") == log_format::json);
    CHECK(!parse_log_format("xml"));
}

TEST_CASE("prometheus rendering")
{
    relay::telemetry::registry r;
    r.get_counter("relay_messages_total", "Messages.", {{"type", "event"}, {"direction", "in"}}).inc(3);
    r.get_counter("relay_messages_total", "Messages.", {{"direction", "in"}, {"type", "event"}}).inc();
    r.get_gauge("relay_connections", "Open connections.", {{"kind", "app"}}).set(7);
    auto& h = r.get_histogram("relay_latency_seconds", "Latency.", {}, {0.001, 0.01});
    h.observe(0.0005);
    h.observe(0.005);
    h.observe(1);
    auto text = r.render();
    CHECK(text.find("# TYPE relay_messages_total counter\n") != std::string::npos);
    // label order does not matter: both calls name the same series
    CHECK(text.find("relay_messages_total{direction=\"in\",type=\"event\"} 4\n") != std::string::npos);
    CHECK(text.find("relay_connections{kind=\"app\"} 7\n") != std::string::npos);
    CHECK(text.find("relay_latency_seconds_bucket{le=\"0.001\"} 1\n") != std::string::npos);
    CHECK(text.find("relay_latency_seconds_bucket{le=\"0.01\"} 2\n") != std::string::npos);
    CHECK(text.find("relay_latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("relay_latency_seconds_count 3\n") != std::string::npos);
    CHECK_THROWS(r.get_gauge("relay_messages_total", "x"));
}
