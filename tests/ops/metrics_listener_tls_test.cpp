// The private metrics listener next to a TLS main port: the scraper speaks plain HTTP on its own
// port, while /metrics is gone from the https port.
#include "processes.hpp"
#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace relay::test;

TEST_CASE("with TLS on the main port, the private metrics listener still speaks plain HTTP")
{
    temp_dir dir;
    turn_test::test_pki pki{dir.path()};
    relayd_process relayd(test_env({{"RELAY_TLS_CERT", pki.server_cert},
                                    {"RELAY_TLS_KEY", pki.server_key},
                                    {"RELAY_METRICS_PORT", "0"},
                                    {"RELAY_LOG_FORMAT", "json"}}));
    auto out = relayd.output();
    auto at = out.find("\"event\":\"metrics_listening\"");
    REQUIRE_MESSAGE(at != std::string::npos, out);
    auto port = static_cast<std::uint16_t>(std::atoi(out.c_str() + out.find("\"port\":", at) + std::strlen("\"port\":")));

    auto m = http_get(port, "/metrics");
    CHECK(m.status == 200);
    CHECK(m.body.find("relay_store_duration_seconds_count{op=\"end_open_sessions\"} 1\n") != std::string::npos);
    CHECK(https_call(relayd.port(), pki.ca_cert, "GET", "/metrics").status == 404);
    CHECK(https_call(relayd.port(), pki.ca_cert, "GET", "/health").status == 200);
}
