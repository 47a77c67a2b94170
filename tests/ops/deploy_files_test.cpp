// The files in deploy/ agree with each other and with relayd: every contract setting is in the
// example configuration, relayd refuses the example until its secrets are filled in, and the
// numbers that must match across relayd, systemd and nginx do.
#include "deploy_files.hpp"
#include "deploy_sandbox.hpp"
#include "deploy_processes.hpp"

#include "support/relayd_process.hpp"

#include <doctest/doctest.h>

#include <regex>

using namespace ops_test;

namespace {

// Section 1 of the wire contract: what clients and operators rely on.
constexpr char const* contract_settings[] = {
    "RELAY_HOST", "RELAY_PORT", "RELAY_DATABASE", "RELAY_JWT_SECRET", "RELAY_DEV", "RELAY_ACCESS_TTL",
    "RELAY_REFRESH_TTL", "RELAY_OPEN_REGISTRATION", "RELAY_TURN_PROVIDER", "RELAY_TURN_SECRET", "RELAY_TURN_URLS",
    "RELAY_TURN_TTL", "RELAY_STUN_URLS", "RELAY_CF_TURN_KEY_ID", "RELAY_CF_TURN_API_TOKEN", "RELAY_CF_API_BASE",
    "RELAY_CORS_ORIGINS", "RELAY_TLS_CERT", "RELAY_TLS_KEY", "RELAY_LOG_FORMAT", "RELAY_LOG_LEVEL",
};

} // namespace

TEST_CASE("relay.conf.example has a line, set or commented, for every setting of the contract")
{
    auto text = read_text(source_file("deploy/relay.conf.example"));
    for (auto const* name : contract_settings) {
        CAPTURE(name);
        CHECK(std::regex_search(text, std::regex(std::string("(^|\n)#?") + name + "=")));
    }
}

TEST_CASE("relayd refuses relay.conf.example until docs/deploy.md step 3 filled in its secrets")
{
    // Flags put it on a free port with a throw-away database, should it start after all; the time
    // limit turns that into a failure instead of a hang.
    auto run = [](std::string const& config) {
        return run_program({RELAY_TEST_RELAYD, "serve", "--config", config, "--port", "0", "--database", ":memory:"},
                           std::chrono::seconds(30));
    };
    auto example = source_file("deploy/relay.conf.example");
    auto [status, output] = run(example);
    CAPTURE(output);
    CHECK(status == 2);
    CHECK(output.find("RELAY_JWT_SECRET") != std::string::npos);

    // With only the JWT secret set, the next placeholder stops it.
    relay::test::temp_dir dir;
    auto partly = std::regex_replace(read_text(example), std::regex("\nRELAY_JWT_SECRET=CHANGE-ME\n"),
                                     "\nRELAY_JWT_SECRET=" + std::string(64, 'a') + "\n");
    write_text(dir.path() + "/relay.conf", partly);
    auto [status2, output2] = run(dir.path() + "/relay.conf");
    CAPTURE(output2);
    CHECK(status2 == 2);
    CHECK(output2.find("RELAY_SECRET_KEY") != std::string::npos);
}

TEST_CASE("relayd.service, relay.conf.example and the nginx site agree on the numbers")
{
    auto unit = read_text(source_file("deploy/relayd.service"));
    auto conf = config_values(read_text(source_file("deploy/relay.conf.example")));
    auto site = read_text(source_file("deploy/nginx/relay.conf"));

    SUBCASE("systemd waits longer than relayd's graceful shutdown takes")
    {
        // RELAY_SHUTDOWN_GRACE, then up to 2 s of close handshakes (docs/architecture.md).
        auto grace = std::stoi(conf.at("RELAY_SHUTDOWN_GRACE"));
        CHECK(std::stoi(unit_value(unit, "TimeoutStopSec")) > grace + 2);
        CHECK(unit_value(unit, "KillSignal") == "SIGTERM");
    }
    SUBCASE("enough descriptors for 10,000 robots and their apps")
    {
        CHECK(std::stol(unit_value(unit, "LimitNOFILE")) >= 65536);
    }
    SUBCASE("nginx proxies to where relayd listens")
    {
        CHECK(nginx_upstream(site) == conf.at("RELAY_HOST") + ":" + conf.at("RELAY_PORT"));
    }
    SUBCASE("nginx refuses exactly the bodies relayd would refuse")
    {
        CHECK(nginx_size(nginx_directive(site, "client_max_body_size")) == std::stol(conf.at("RELAY_TUNNEL_BODY_MAX")));
    }
    SUBCASE("nginx keeps a quiet WebSocket open longer than relayd's keepalive does")
    {
        auto ws = nginx_location(site, "/ws/");
        REQUIRE(!ws.empty());
        auto read_timeout = nginx_seconds(nginx_directive(ws, "proxy_read_timeout"));
        auto send_timeout = nginx_seconds(nginx_directive(ws, "proxy_send_timeout"));
        CHECK(read_timeout > std::stol(conf.at("RELAY_IDLE_TIMEOUT")));
        CHECK(send_timeout > std::stol(conf.at("RELAY_IDLE_TIMEOUT")));
        CHECK(ws.find("proxy_set_header Upgrade $http_upgrade;") != std::string::npos);
        CHECK(ws.find("proxy_set_header Connection $connection_upgrade;") != std::string::npos);
        CHECK(ws.find("proxy_http_version 1.1;") != std::string::npos);
    }
    SUBCASE("the hardening the issue asks for is in the unit")
    {
        for (auto const* line :
             {"DynamicUser=yes", "StateDirectory=relay", "ConfigurationDirectory=relay",
              "EnvironmentFile=/etc/relay/relay.conf", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
              "PrivateDevices=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=",
              "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
              "LockPersonality=yes", "MemoryDenyWriteExecute=yes", "RestrictNamespaces=yes", "RestrictRealtime=yes",
              "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
              "ProtectControlGroups=yes", "ProtectClock=yes", "ProtectHostname=yes", "Restart=on-failure",
              "ExecReload=/bin/kill -HUP $MAINPID"}) {
            CAPTURE(line);
            CHECK(std::regex_search(unit, std::regex("(^|\n)" + std::regex_replace(std::string(line),
                                                                                   std::regex(R"([$.])"), R"(\$&)") +
                                                     "\n")));
        }
        // The database is where the state directory is.
        CHECK(conf.at("RELAY_DATABASE").starts_with("/var/lib/" + unit_value(unit, "StateDirectory") + "/"));
    }
}
