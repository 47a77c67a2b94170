// docs/scaling.md's topology on this machine: nginx with deploy/nginx/relay-cluster.conf in front
// of two relayd nodes that share a SQLite file, their secrets and a private redis-server. Clients
// see one address: an app and a robot that nginx put on different nodes exchange an event and a
// command, and once a node is killed with SIGKILL nginx sends reconnecting clients to the other.
// Also the systemd template as systemd-analyze reads it.
#include "deploy_files.hpp"
#include "deploy_processes.hpp"
#include "deploy_sandbox.hpp"
#include "support/fixtures.hpp"
#include "support/tools.hpp"
#include "wss_client.hpp"

#include <relay/auth/device_auth.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <regex>

using namespace ops_test;
using relay::test::require_program;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/** A node's local connection counts from its GET /stats: {robots_online, apps_connected}. */
std::pair<long, long> node_connections(std::uint16_t port)
{
    auto reply = relay::test::http_get(port, "/stats");
    REQUIRE(reply.status == 200);
    auto v = json::parse(reply.body).as_object();
    return {static_cast<long>(v.at("robots_online").to_number<double>()),
            static_cast<long>(v.at("apps_connected").to_number<double>())};
}

/** Reads until a message of `type` whose field `key` is `value` (presence and other events may
 * come first); null on timeout. */
json::value expect_with(wss_client& client, std::string const& type, std::string const& key, std::string const& value)
{
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto m = client.expect(type, 15s);
        if (!m.is_object())
            break;
        if (auto const* v = m.as_object().if_contains(key); v && v->is_string() && v->as_string() == value)
            return m;
    }
    return {};
}

/** An app through nginx, authenticated. */
std::unique_ptr<wss_client> connect_app(std::uint16_t https_port, std::string const& ca, std::string const& token)
{
    auto app = std::make_unique<wss_client>(https_port, deploy_sandbox::domain, "/ws/app", ca);
    app->send({{"type", "auth"}, {"token", token}});
    REQUIRE_MESSAGE(app->expect("auth_ok", 10s).is_object(), "no auth_ok for an app through nginx");
    return app;
}

} // namespace

TEST_CASE("relay-cluster.conf: one address in front of two nodes on Redis; a node killed with SIGKILL is skipped")
{
    auto const nginx = require_program("nginx", "nginx");
    auto const redis = require_program("redis-server", "redis-server");
    deploy_sandbox sb;
    auto const domain = std::string(deploy_sandbox::domain);

    // ---- One Redis, two nodes sharing a database file and the secrets (docs/scaling.md).
    auto const redis_port = free_loopback_port();
    fs::create_directories(sb.path("/redis"));
    child_process redis_server({redis, "--bind", "127.0.0.1", "--port", std::to_string(redis_port), "--save", "",
                                "--appendonly", "no", "--dir", sb.path("/redis")},
                               sb.path("/redis/redis.log"));
    REQUIRE_MESSAGE(wait_listening(redis_port, 20s), "redis-server did not start:\n" << redis_server.output());
    fs::create_directories(sb.path("/var/lib/relay"));
    auto env = relay::test::test_env({{"RELAY_REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis_port)},
                                      {"RELAY_DATABASE", sb.path("/var/lib/relay/relay.db")},
                                      {"RELAY_JWT_SECRET", std::string(64, 'a')},
                                      {"RELAY_SECRET_KEY", std::string(64, 'b')},
                                      {"RELAY_TRUSTED_PROXIES", "127.0.0.1"}});
    std::vector<std::unique_ptr<relay::test::relayd_process>> nodes;
    for (auto const* id : {"ops-node-1", "ops-node-2"}) {
        env["RELAY_NODE_ID"] = id;
        nodes.push_back(std::make_unique<relay::test::relayd_process>(env));
    }

    // ---- The site as docs/scaling.md installs it, on loopback ports, its upstream the two nodes.
    auto const ca = make_certificate(sb);
    auto const http_port = free_loopback_port();
    auto const https_port = free_loopback_port();
    auto site = sb.map(read_text(source_file("deploy/nginx/relay-cluster.conf")));
    site = replace_required(site, "relay.example.com", domain);
    site = replace_required(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port) + ";");
    site = replace_required(site, "listen [::]:80;", "");
    site = replace_required(site, "listen 443 ssl;", "listen 127.0.0.1:" + std::to_string(https_port) + " ssl;");
    site = replace_required(site, "listen [::]:443 ssl;", "");
    auto const servers = nginx_upstream_servers(site);
    REQUIRE(servers.size() >= 2);
    for (std::size_t i = 0; i < servers.size(); ++i)
        site = replace_required(site, "server " + servers[i] + " ",
                                i < nodes.size() ? "server 127.0.0.1:" + std::to_string(nodes[i]->port()) + " "
                                                 : "# (not in this test) server " + servers[i] + " ");
    auto const prefix = sb.path("/nginx-run");
    fs::create_directories(prefix + "/sites");
    fs::create_directories(sb.path("/var/log/nginx"));
    write_text(prefix + "/sites/relay.conf", site);
    write_text(prefix + "/nginx.conf", nginx_main_conf(prefix, prefix + "/sites"));
    child_process nginx_server({nginx, "-c", prefix + "/nginx.conf", "-p", prefix + "/", "-e", prefix + "/error.log"},
                               prefix + "/stdout.log");
    REQUIRE_MESSAGE(wait_listening(https_port, 20s),
                    "nginx did not start:\n" << nginx_server.output() << read_text(prefix + "/error.log"));

    // ---- An account and a device (made on node 1; the database is shared).
    auto owner = relay::test::make_account(nodes[0]->port(), "cluster-ops");
    auto device = relay::test::make_device(nodes[0]->port(), owner);

    // ---- The robot through nginx: which node did it land on?
    wss_client robot(https_port, domain, "/ws/device", ca);
    auto challenge = robot.expect("auth_challenge", 10s);
    REQUIRE(challenge.is_object());
    auto nonce = std::string(challenge.at("nonce").as_string());
    robot.send({{"type", "auth"}, {"device_id", device.device_id},
                {"signature", relay::auth::device_signature(device.secret, nonce, device.device_id)}});
    REQUIRE_MESSAGE(robot.expect("auth_ok", 10s).is_object(), "no auth_ok for the robot through nginx");
    // A node counts a robot before it queues its auth_ok, so the count is there already.
    std::size_t robot_node = nodes.size();
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (node_connections(nodes[i]->port()).first == 1)
            robot_node = i;
    REQUIRE(robot_node < nodes.size());
    std::size_t const other_node = 1 - robot_node;

    // ---- Apps through nginx until one is on the other node (nginx picks; no stickiness).
    std::vector<std::unique_ptr<wss_client>> apps;
    std::unique_ptr<wss_client> far_app;
    for (int attempt = 0; attempt < 8 && !far_app; ++attempt) {
        auto before = node_connections(nodes[other_node]->port()).second;
        auto app = connect_app(https_port, ca, owner.access_token);
        // auth_ok has come, so its node counted it (before queuing auth_ok).
        if (node_connections(nodes[other_node]->port()).second > before)
            far_app = std::move(app);
        else
            apps.push_back(std::move(app));
    }
    REQUIRE_MESSAGE(far_app, "nginx put no app on the node without the robot in 8 connections");

    // ---- An event and a command across the nodes, through the one address.
    robot.send({{"type", "event"}, {"event", "cluster_check"}, {"data", {{"ok", true}}}});
    auto event = expect_with(*far_app, "event", "event", "cluster_check");
    REQUIRE_MESSAGE(event.is_object(), "the robot's event did not reach the app on the other node");
    CHECK(event.at("device_id").as_string() == device.device_id);

    far_app->send({{"type", "command"}, {"device_id", device.device_id}, {"id", "ops-c1"}, {"command", "dock"}});
    auto command = expect_with(robot, "command", "id", "ops-c1");
    REQUIRE_MESSAGE(command.is_object(), "the app's command did not reach the robot on the other node");
    CHECK(command.at("command").as_string() == "dock");
    robot.send({{"type", "command_result"}, {"id", "ops-c1"}, {"ok", true}, {"data", {{"docked", true}}}});
    auto result = expect_with(*far_app, "command_result", "id", "ops-c1");
    REQUIRE_MESSAGE(result.is_object(), "the robot's command_result did not come back to the app");
    CHECK(result.at("ok").as_bool());

    // ---- The app's node dies. Its apps reconnect through the same address: nginx skips the
    // dead node (proxy_next_upstream) and every reconnect lands on the live one.
    CHECK(nodes[other_node]->stop(SIGKILL) == 128 + SIGKILL);
    // nginx closes the client's connection when its node's goes (no close frame: code 0).
    far_app->wait_closed(10s);
    CHECK_FALSE(far_app->is_open());
    far_app.reset();
    auto const robot_port = nodes[robot_node]->port();
    auto apps_before = node_connections(robot_port).second;
    std::vector<std::unique_ptr<wss_client>> reconnected;
    for (int i = 0; i < 4; ++i)
        reconnected.push_back(connect_app(https_port, ca, owner.access_token));
    CHECK(node_connections(robot_port).second == apps_before + 4);
    robot.send({{"type", "event"}, {"event", "cluster_check_2"}, {"data", {{"ok", true}}}});
    for (auto& app : reconnected)
        CHECK(expect_with(*app, "event", "event", "cluster_check_2").is_object());

    // nginx's log names the upstreams it tried: the dead node, then the live one, on the first
    // reconnect (least_conn picked the node with no connections left, which refused). A
    // WebSocket is logged when it ends: close them all, then let nginx finish (SIGQUIT).
    for (auto* client : {&robot, reconnected[0].get(), reconnected[1].get(), reconnected[2].get(), reconnected[3].get()}) {
        client->close();
        client->wait_closed(10s);
    }
    for (auto& app : apps) {
        app->close();
        app->wait_closed(10s);
    }
    nginx_server.stop(SIGQUIT);
    auto const access_log = read_text(sb.path("/var/log/nginx/relay.access.log"));
    INFO("access log: " << access_log);
    auto const dead = "127.0.0.1:" + std::to_string(nodes[other_node]->port());
    auto const live = "127.0.0.1:" + std::to_string(robot_port);
    CHECK(access_log.find(dead + ", " + live) != std::string::npos);
}

TEST_CASE("relayd@.service: systemd-analyze accepts an instance and rates its exposure as the single unit's")
{
    auto const analyze = require_program("systemd-analyze", "systemd");
    relay::test::temp_dir dir;
    // The template as installed, its ExecStart pointing at this build's relayd (it must exist),
    // verified as instance 1.
    auto unit = read_text(source_file("deploy/systemd/relayd@.service"));
    unit = std::regex_replace(unit, std::regex("/usr/local/bin/relayd"), RELAY_TEST_RELAYD);
    write_text(dir.path() + "/relayd@.service", unit);
    auto const instance = dir.path() + "/relayd@1.service";
    auto [status, output] = run_program({analyze, "verify", instance});
    CAPTURE(output);
    CHECK(status == 0);
    // Complaints about other units of this machine are not ours; any about this one are.
    CHECK(output.find("relayd@") == std::string::npos);
    auto [sec_status, sec_output] = run_program({analyze, "security", "--offline=true", "--threshold=20", instance});
    CAPTURE(sec_output);
    CHECK(sec_status == 0);
}
