#include "support/cluster_harness.hpp"

#include "redis/redis_server.hpp"
#include "support/tools.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <stdexcept>
#include <thread>

#include <signal.h>

namespace relay::test {

cluster_options cluster_of(std::size_t nodes, env_map env)
{
    cluster_options o;
    o.nodes = nodes;
    o.env = std::move(env);
    return o;
}

env_map fast_cluster_env()
{
    // A killed node is declared dead after the timeout plus one heartbeat (docs/scaling.md):
    // about 1.2 s instead of the default 6.
    return {{"RELAY_NODE_HEARTBEAT_MS", "200"}, {"RELAY_NODE_TIMEOUT_MS", "1000"}};
}

cluster_harness::cluster_harness(cluster_options options)
    : options_(std::move(options)),
      database_path_(dir_.path() + "/relay.db"),
      jwt_secret_(auth::hex_encode(auth::random_bytes(32))),
      secret_key_(auth::hex_encode(auth::random_bytes(32)))
{
    if (!options_.without_redis) {
        redis_ = std::make_unique<redis::redis_server>();
        redis_url_ = redis_->url();
    }
    nodes_.resize(options_.nodes);
    ports_.assign(options_.nodes, 0);
    // One after the other: the first applies the migrations to the shared file, the others find
    // them done (two relayd migrating one SQLite file at once would wait on its lock).
    for (std::size_t i = 0; i < options_.nodes; ++i)
        start_node(i);
}

cluster_harness::~cluster_harness()
{
    for (auto& n : nodes_)
        if (n)
            n->stop(SIGKILL);
    nodes_.clear();
    redis_.reset();
}

env_map cluster_harness::node_environment(std::size_t i) const
{
    auto env = test_env(fast_cluster_env());
    for (auto const& [k, v] : options_.env)
        env[k] = v;
    if (auto it = options_.node_env.find(i); it != options_.node_env.end())
        for (auto const& [k, v] : it->second)
            env[k] = v;
    env["RELAY_DATABASE"] = database_path_;
    env["RELAY_JWT_SECRET"] = jwt_secret_;
    env["RELAY_SECRET_KEY"] = secret_key_;
    if (!options_.without_redis) {
        env["RELAY_REDIS_URL"] = redis_url_;
        env["RELAY_NODE_ID"] = node_id(i);
    }
    // The port it got the first time, so that a restarted node is found where it was.
    env["RELAY_PORT"] = std::to_string(ports_.at(i));
    return env;
}

relayd_process& cluster_harness::node(std::size_t i)
{
    REQUIRE_MESSAGE(running(i), "node " << i << " is not running");
    return *nodes_[i];
}

std::uint16_t cluster_harness::port(std::size_t i) const
{
    return ports_.at(i);
}

std::string cluster_harness::node_id(std::size_t i) const
{
    return "node-" + std::to_string(i);
}

bool cluster_harness::running(std::size_t i) const
{
    return i < nodes_.size() && nodes_[i] && nodes_[i]->running();
}

void cluster_harness::kill_node(std::size_t i)
{
    REQUIRE(i < nodes_.size());
    if (nodes_[i])
        nodes_[i]->stop(SIGKILL);
}

void cluster_harness::pause_node(std::size_t i)
{
    REQUIRE(running(i));
    REQUIRE(::kill(nodes_[i]->pid(), SIGSTOP) == 0);
}

void cluster_harness::stop_node(std::size_t i)
{
    REQUIRE(i < nodes_.size());
    if (nodes_[i])
        nodes_[i]->stop(SIGTERM);
}

void cluster_harness::start_node(std::size_t i, env_map extra_env)
{
    REQUIRE(i < nodes_.size());
    REQUIRE_MESSAGE(!running(i), "node " << i << " runs already");
    auto env = node_environment(i);
    for (auto& [k, v] : extra_env)
        env[k] = std::move(v);
    nodes_[i].reset();
    // A port freed by a killed process can be bound again at once (the relay sets
    // SO_REUSEADDR); a retry covers a slow kernel.
    for (int attempt = 0;; ++attempt) {
        try {
            nodes_[i] = std::make_unique<relayd_process>(env);
            break;
        } catch (std::runtime_error const&) {
            if (ports_[i] == 0 || attempt == 20)
                throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    ports_[i] = nodes_[i]->port();
}

redis::redis_server& cluster_harness::redis()
{
    REQUIRE_MESSAGE(redis_, "this cluster runs without Redis");
    return *redis_;
}

account cluster_harness::make_account(std::size_t on, std::string const& prefix)
{
    return test::make_account(port(on), prefix);
}

device_credentials cluster_harness::make_device(account const& owner, std::size_t on, std::string const& device_id)
{
    return test::make_device(port(on), owner, device_id);
}

void cluster_harness::share(account const& owner, std::string const& device_id, account const& with,
                            std::string const& role, std::size_t on)
{
    share_device(port(on), owner, device_id, with, role);
}

household cluster_harness::make_household(std::size_t on)
{
    household h;
    h.owner = make_account(on, "owner");
    h.operator_user = make_account(on, "operator");
    h.viewer = make_account(on, "viewer");
    h.stranger = make_account(on, "stranger");
    h.dev = make_device(h.owner, on);
    share(h.owner, h.dev.device_id, h.operator_user, "operator", on);
    share(h.owner, h.dev.device_id, h.viewer, "viewer", on);
    return h;
}

std::unique_ptr<ws_client> cluster_harness::connect_app(std::size_t i, account const& user, boost::json::value* auth_ok)
{
    return test::connect_app(port(i), user, auth_ok);
}

std::unique_ptr<ws_client> cluster_harness::connect_robot(std::size_t i, device_credentials const& dev)
{
    return test::connect_robot(port(i), dev);
}

cluster_harness::app_and_robot cluster_harness::connect_pair(std::size_t app_node, account const& user,
                                                            std::size_t robot_node, device_credentials const& dev)
{
    app_and_robot pair;
    pair.app = connect_app(app_node, user);
    pair.robot = connect_robot(robot_node, dev);
    REQUIRE_MESSAGE(expect_event(*pair.app, "robot_connected", dev.device_id).is_object(),
                    "the app on node " << app_node << " never heard of the robot on node " << robot_node);
    return pair;
}

bool cluster_harness::online_on(std::size_t i, account const& user, std::string const& device_id)
{
    auto r = http_get(port(i), "/api/devices", user.access_token);
    if (r.status != 200)
        return false;
    auto body = r.json();
    auto const* list = body.if_array();
    if (!list)
        return false;
    for (auto const& d : *list)
        if (d.at("device_id") == device_id.c_str()) {
            auto const* online = d.as_object().if_contains("online");
            return online && online->is_bool() && online->as_bool();
        }
    return false;
}

bool cluster_harness::wait_online(std::size_t i, account const& user, std::string const& device_id, bool online,
                                  std::chrono::milliseconds limit)
{
    return eventually([&] { return online_on(i, user, device_id) == online; }, limit);
}

http_reply cluster_harness::health(std::size_t i)
{
    return http_get(port(i), "/health");
}

http_reply cluster_harness::wait_health(std::size_t i, unsigned status, std::chrono::milliseconds limit)
{
    http_reply last = health(i);
    eventually(
        [&] {
            last = health(i);
            return last.status == status;
        },
        limit);
    return last;
}

boost::json::value read_until(ws_client& client, std::function<bool(boost::json::object const&)> const& wanted,
                              std::chrono::milliseconds limit, std::vector<boost::json::value>* skipped)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return nullptr;
        auto m = client.read_json(left);
        if (!m)
            return nullptr;
        if (auto const* o = m->if_object(); o && wanted(*o))
            return *m;
        if (skipped)
            skipped->push_back(std::move(*m));
    }
}

namespace {

bool field_is(boost::json::object const& o, char const* key, std::string_view value)
{
    auto const* v = o.if_contains(key);
    return v && v->is_string() && v->get_string() == value;
}

} // namespace

bool contains_type(std::vector<boost::json::value> const& messages, std::string_view type)
{
    for (auto const& m : messages)
        if (auto const* o = m.if_object(); o && field_is(*o, "type", type))
            return true;
    return false;
}

boost::json::value expect_error_for(ws_client& client, std::string const& ref, std::chrono::milliseconds limit)
{
    return read_until(
        client, [&](boost::json::object const& o) { return field_is(o, "type", "error") && field_is(o, "ref", ref); },
        limit);
}

boost::json::value expect_event(ws_client& client, std::string const& name, std::string const& device_id,
                                std::chrono::milliseconds limit, std::vector<boost::json::value>* skipped)
{
    return read_until(
        client,
        [&](boost::json::object const& o) {
            return field_is(o, "type", "event") && field_is(o, "event", name) &&
                   (device_id.empty() || field_is(o, "device_id", device_id));
        },
        limit, skipped);
}

// ---- nginx in front of the nodes ------------------------------------------------------------

nginx_front::nginx_front(std::vector<std::uint16_t> const& ports, std::vector<std::uint16_t> const& backup_ports)
{
    auto const nginx = require_program("nginx", "nginx");
    auto const prefix = dir_.path();
    std::string upstream;
    // A dead node is skipped at once (connection refused: the next server is tried) and left
    // alone for a second.
    for (auto p : ports)
        upstream += "        server 127.0.0.1:" + std::to_string(p) + " max_fails=1 fail_timeout=1s;\n";
    for (auto p : backup_ports)
        upstream += "        server 127.0.0.1:" + std::to_string(p) + " backup;\n";
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = support::free_loopback_port();
        // The WebSocket and proxy settings of deploy/nginx (relay-cluster.conf's upstream
        // failover), without TLS.
        support::write_text(prefix + "/nginx.conf",
                            "worker_processes 1;\n"
                            "daemon off;\n"
                            "pid " + prefix + "/nginx.pid;\n"
                            "error_log " + prefix + "/error.log info;\n"
                            "events { worker_connections 1024; }\n"
                            "http {\n"
                            "    access_log off;\n"
                            "    client_body_temp_path " + prefix + "/client_body;\n"
                            "    proxy_temp_path " + prefix + "/proxy;\n"
                            "    fastcgi_temp_path " + prefix + "/fastcgi;\n"
                            "    uwsgi_temp_path " + prefix + "/uwsgi;\n"
                            "    scgi_temp_path " + prefix + "/scgi;\n"
                            "    upstream relayd {\n" + upstream + "    }\n"
                            "    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }\n"
                            "    server {\n"
                            "        listen 127.0.0.1:" + std::to_string(port_) + ";\n"
                            "        location / {\n"
                            "            proxy_pass http://relayd;\n"
                            "            proxy_http_version 1.1;\n"
                            "            proxy_set_header Upgrade $http_upgrade;\n"
                            "            proxy_set_header Connection $connection_upgrade;\n"
                            "            proxy_set_header Host $host;\n"
                            "            proxy_connect_timeout 2s;\n"
                            "            proxy_next_upstream error timeout;\n"
                            "            proxy_read_timeout 120s;\n"
                            "            proxy_send_timeout 120s;\n"
                            "            proxy_buffering off;\n"
                            "        }\n"
                            "    }\n"
                            "}\n");
        support::spawn_options o;
        o.argv = {nginx, "-p", prefix, "-c", prefix + "/nginx.conf"};
        o.output_path = prefix + "/output.log";
        o.stop_signal = SIGTERM;
        process_ = std::make_unique<support::child_process>(std::move(o));
        if (support::wait_listening(port_, std::chrono::seconds(10)))
            return;
        process_.reset(); // the port was taken meanwhile: another one
    }
    FAIL("nginx did not start:\n" << log());
}

nginx_front::~nginx_front()
{
    process_.reset();
}

std::string nginx_front::url() const
{
    return "ws://127.0.0.1:" + std::to_string(port_);
}

std::string nginx_front::log() const
{
    return support::read_text(dir_.path() + "/output.log") + support::read_text(dir_.path() + "/error.log");
}

} // namespace relay::test
