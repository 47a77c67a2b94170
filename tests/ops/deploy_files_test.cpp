// The files in deploy/ agree with each other and with relayd: every contract setting is in the
// example configuration, relayd refuses the example until its secrets are filled in, and the
// numbers that must match across relayd, systemd and nginx do.
#include "deploy_files.hpp"
#include "deploy_sandbox.hpp"
#include "deploy_processes.hpp"

#include "support/relayd_process.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <set>

using namespace ops_test;

namespace {

// Section 1 of the wire contract: what clients and operators rely on.
constexpr char const* contract_settings[] = {
    "RELAY_HOST", "RELAY_PORT", "RELAY_DATABASE", "RELAY_JWT_SECRET", "RELAY_DEV", "RELAY_ACCESS_TTL",
    "RELAY_REFRESH_TTL", "RELAY_OPEN_REGISTRATION", "RELAY_TURN_PROVIDER", "RELAY_TURN_SECRET", "RELAY_TURN_URLS",
    "RELAY_TURN_TTL", "RELAY_STUN_URLS", "RELAY_CF_TURN_KEY_ID", "RELAY_CF_TURN_API_TOKEN", "RELAY_CF_API_BASE",
    "RELAY_CORS_ORIGINS", "RELAY_TLS_CERT", "RELAY_TLS_KEY", "RELAY_LOG_FORMAT", "RELAY_LOG_LEVEL",
};

// The hardening the issue asks for, in deploy/relayd.service and in each node of the template.
constexpr char const* hardening_lines[] = {
    "DynamicUser=yes", "StateDirectory=relay", "ConfigurationDirectory=relay",
    "EnvironmentFile=/etc/relay/relay.conf", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
    "PrivateDevices=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
    "LockPersonality=yes", "MemoryDenyWriteExecute=yes", "RestrictNamespaces=yes", "RestrictRealtime=yes",
    "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes", "ProtectClock=yes", "ProtectHostname=yes", "Restart=on-failure",
    "ExecReload=/bin/kill -HUP $MAINPID",
};

/** Where `line` is, as a whole line, in `unit`; npos when absent. */
std::size_t unit_line(std::string const& unit, std::string const& line)
{
    std::smatch m;
    auto pattern = std::regex("(^|\n)" + std::regex_replace(line, std::regex(R"([$.%])"), R"(\$&)") + "\n");
    return std::regex_search(unit, m, pattern) ? std::size_t(m.position(0)) : std::string::npos;
}

void check_hardening(std::string const& unit)
{
    for (auto const* line : hardening_lines) {
        CAPTURE(line);
        CHECK(unit_line(unit, line) != std::string::npos);
    }
}

/** What every nginx site of deploy/nginx must do for relayd, whatever its upstream. */
void check_site_for_relayd(std::string const& site, std::map<std::string, std::string> const& conf)
{
    CHECK(nginx_size(nginx_directive(site, "client_max_body_size")) == std::stol(conf.at("RELAY_TUNNEL_BODY_MAX")));
    auto ws = nginx_proxy_location(site, "/ws/");
    REQUIRE(!ws.empty());
    CHECK(nginx_seconds(nginx_directive(ws, "proxy_read_timeout")) > std::stol(conf.at("RELAY_IDLE_TIMEOUT")));
    CHECK(nginx_seconds(nginx_directive(ws, "proxy_send_timeout")) > std::stol(conf.at("RELAY_IDLE_TIMEOUT")));
    CHECK(ws.find("proxy_set_header Upgrade $http_upgrade;") != std::string::npos);
    CHECK(ws.find("proxy_set_header Connection $connection_upgrade;") != std::string::npos);
    CHECK(ws.find("proxy_http_version 1.1;") != std::string::npos);
    // relayd believes X-Forwarded-For from RELAY_TRUSTED_PROXIES only, and takes it whole: nginx
    // must overwrite it with the client's address, never append to what the client sent.
    auto api = nginx_proxy_location(site, "/");
    REQUIRE(!api.empty());
    for (auto const& location : {ws, api}) {
        CHECK(location.find("proxy_set_header X-Forwarded-For $remote_addr;") != std::string::npos);
        CHECK(location.find("$proxy_add_x_forwarded_for") == std::string::npos);
    }
    CHECK(conf.at("RELAY_TRUSTED_PROXIES") == "127.0.0.1");
}

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
    SUBCASE("nginx refuses exactly the bodies relayd would refuse, keeps quiet WebSockets open longer than "
            "relayd's keepalive does, and passes the client's address as relayd expects")
    {
        check_site_for_relayd(site, conf);
    }
    SUBCASE("the hardening the issue asks for is in the unit")
    {
        check_hardening(unit);
        // The database is where the state directory is.
        CHECK(conf.at("RELAY_DATABASE").starts_with("/var/lib/" + unit_value(unit, "StateDirectory") + "/"));
    }
}

TEST_CASE("relayd@.service, node.env.example and relay-cluster.conf agree on the numbers")
{
    auto unit = read_text(source_file("deploy/systemd/relayd@.service"));
    auto conf = config_values(read_text(source_file("deploy/relay.conf.example")));
    auto node = config_values(read_text(source_file("deploy/systemd/node.env.example")));
    auto site = read_text(source_file("deploy/nginx/relay-cluster.conf"));

    SUBCASE("each node is as hardened as the single unit, and stops as gracefully")
    {
        check_hardening(unit);
        auto grace = std::stoi(conf.at("RELAY_SHUTDOWN_GRACE"));
        CHECK(std::stoi(unit_value(unit, "TimeoutStopSec")) > grace + 2);
        CHECK(unit_value(unit, "KillSignal") == "SIGTERM");
        CHECK(unit_value(unit, "RestartPreventExitStatus") == "2");
    }
    SUBCASE("each node has its own descriptor limit, enough for a quarter of 60,000 connections")
    {
        CHECK(std::stol(unit_value(unit, "LimitNOFILE")) >= 16384);
    }
    SUBCASE("the node's own file comes after the shared one and nothing outranks it")
    {
        auto shared = unit_line(unit, "EnvironmentFile=/etc/relay/relay.conf");
        auto own = unit_line(unit, "EnvironmentFile=/etc/relayd/%i.env");
        REQUIRE(shared != std::string::npos);
        REQUIRE(own != std::string::npos);
        CHECK(shared < own);
        // relayd ranks --config and flags above its environment: either would override the
        // node's port with the shared file's.
        auto exec_start = unit_value(unit, "ExecStart");
        CHECK(exec_start == "/usr/local/bin/relayd serve");
        CHECK(node.count("RELAY_PORT") == 1);
        CHECK(node.count("RELAY_NODE_ID") == 1);
        // Only what differs between nodes: a secret or the database there would split the nodes.
        CHECK(node.size() == 2);
    }
    SUBCASE("the instances share one dynamic user, so they share the state directory and its SQLite file")
    {
        CHECK(unit_value(unit, "User") == "relayd");
        CHECK(conf.at("RELAY_DATABASE").starts_with("/var/lib/" + unit_value(unit, "StateDirectory") + "/"));
    }
    SUBCASE("nginx spreads over several nodes, the node of node.env.example among them, without stickiness")
    {
        auto servers = nginx_upstream_servers(site);
        CHECK(servers.size() >= 2);
        CHECK(std::set<std::string>(servers.begin(), servers.end()).size() == servers.size());
        for (auto const& s : servers) {
            CAPTURE(s);
            CHECK(s.starts_with(conf.at("RELAY_HOST") + ":"));
        }
        CHECK(std::find(servers.begin(), servers.end(), conf.at("RELAY_HOST") + ":" + node.at("RELAY_PORT")) !=
              servers.end());
        auto upstream = nginx_upstream_block(site);
        for (auto const* sticky : {"ip_hash", "hash ", "sticky"}) {
            CAPTURE(sticky);
            CHECK(upstream.find(sticky) == std::string::npos);
        }
    }
    SUBCASE("a node that refuses connections is skipped, in both locations")
    {
        for (auto const* path : {"/ws/", "/"}) {
            CAPTURE(path);
            auto location = nginx_proxy_location(site, path);
            REQUIRE(!location.empty());
            auto next = nginx_directive(location, "proxy_next_upstream");
            CHECK(next.find("error") != std::string::npos);
            // Never resend a request relayd already received (a command, a tunnel POST).
            CHECK(next.find("non_idempotent") == std::string::npos);
            CHECK(nginx_seconds(nginx_directive(location, "proxy_connect_timeout")) <= 5);
        }
    }
    SUBCASE("what every relayd site does")
    {
        check_site_for_relayd(site, conf);
    }
}
