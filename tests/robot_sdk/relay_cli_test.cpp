// relay-cli as a person (or a script) uses it, against a real relayd with a robot-agent on the
// other side: login and the config file, devices, watch, send, rest, webrtc-probe, exit statuses.
#if defined(RELAY_TEST_RELAY_CLI) && defined(RELAY_TEST_ROBOT_AGENT)
#include "child_process.hpp"
#include "fake_relay.hpp"
#include "sdk_test_support.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>

using namespace relay::test;
namespace json = boost::json;

namespace {

std::vector<std::string> lines_of(std::string const& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            out.push_back(line);
    return out;
}

json::value read_json_file(std::string const& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

/** relay-cli with a config file of its own, pointed at one relay. */
struct cli_runner {
    explicit cli_runner(std::uint16_t port)
        : url("http://127.0.0.1:" + std::to_string(port)),
          env{{"RELAY_CLI_CONFIG", dir.path() + "/cli/config.json"}, {"HOME", dir.path()}}
    {
    }

    run_result operator()(std::vector<std::string> args, std::string const& input = {}) const
    {
        args.insert(args.begin(), {"--relay", url});
        return run_program(RELAY_TEST_RELAY_CLI, args, env, input);
    }

    /** Registers (and so logs in) a user, and adds a device; returns the device's credentials. */
    device_credentials account_with_device(std::string const& email, std::string const& device_id) const
    {
        auto reg = (*this)({"register", "--email", email, "--password-stdin"}, "correct horse battery\n");
        REQUIRE_MESSAGE(reg.status == 0, reg.err);
        auto added = (*this)({"device", "add", "Robot", "--id", device_id, "--json"});
        REQUIRE_MESSAGE(added.status == 0, added.err);
        return {device_id, std::string(json::parse(added.out).at("device_secret").as_string())};
    }

    temp_dir dir;
    std::string url;
    std::map<std::string, std::string> env;
};

json::object tick(int n)
{
    return {{"type", "event"}, {"event", "tick"}, {"data", json::object{{"n", n}}}};
}

} // namespace

TEST_CASE("relay-cli: log in, add a device, watch a robot-agent, send commands, use the tunnel")
{
    // A 30 s access token is "due" at once for relay-cli, so every call below also exercises
    // the refresh path.
    relayd_process relayd(test_env({{"RELAY_ACCESS_TTL", "30"}}));
    std::string url = "http://127.0.0.1:" + std::to_string(relayd.port());
    temp_dir dir;
    std::string config = dir.path() + "/cli/config.json";
    std::map<std::string, std::string> env{{"RELAY_CLI_CONFIG", config}, {"HOME", dir.path()}};
    auto cli = [&](std::vector<std::string> args, std::string const& input = {}) {
        args.insert(args.begin(), {"--relay", url});
        return run_program(RELAY_TEST_RELAY_CLI, args, env, input);
    };

    auto reg = cli({"register", "--email", "ann@example.com", "--password-stdin"}, "correct horse battery\n");
    REQUIRE_MESSAGE(reg.status == 0, reg.err);
    CHECK(reg.err.find("logged in") != std::string::npos);
    struct stat st{};
    REQUIRE(::stat(config.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto stored = read_json_file(config);
    CHECK(stored.at("default_relay") == json::value(url));
    auto first_refresh = std::string(stored.at("relays").at(url).at("refresh_token").as_string());
    CHECK(!first_refresh.empty());

    auto bad_login = cli({"login", "--email", "ann@example.com", "--password-stdin"}, "wrong password\n");
    CHECK(bad_login.status == 1);
    CHECK(bad_login.err.find("wrong email or password") != std::string::npos);

    auto empty = cli({"devices", "--json"});
    REQUIRE_MESSAGE(empty.status == 0, empty.err);
    CHECK(json::parse(empty.out) == json::array{});
    // The refresh token was rotated on the way.
    CHECK(std::string(read_json_file(config).at("relays").at(url).at("refresh_token").as_string()) != first_refresh);

    auto added = cli({"device", "add", "Kitchen robot", "--id", "wimz-401", "--json"});
    REQUIRE_MESSAGE(added.status == 0, added.err);
    auto secret = std::string(json::parse(added.out).at("device_secret").as_string());

    // The robot: robot-agent with a command program and a local API.
    local_http_server api([](received_request const& r) {
        canned_response res;
        res.headers = {{"Content-Type", "application/json"}};
        res.body = json::serialize(json::object{{"battery", 77}, {"asked", r.target}});
        return res;
    });
    std::string program = dir.path() + "/handler.sh";
    std::ofstream(program) << "#!/bin/sh\ncat >/dev/null\n"
                              "if [ \"$RELAY_COMMAND\" = refuse ]; then echo '{\"ok\":false,\"error\":\"no\"}'; exit 0; fi\n"
                              "echo \"{\\\"ok\\\":true,\\\"data\\\":{\\\"did\\\":\\\"$RELAY_COMMAND\\\"}}\"\n";
    ::chmod(program.c_str(), 0755);
    child_process agent(RELAY_TEST_ROBOT_AGENT,
                        {"--relay", url, "--device-id", "wimz-401", "--command-program", program, "--local-api",
                         "http://127.0.0.1:" + std::to_string(api.port())},
                        {{"RELAY_DEVICE_SECRET", secret}});
    REQUIRE_MESSAGE(agent.wait_output("connected to"), agent.output());

    auto listed = cli({"devices"});
    REQUIRE_MESSAGE(listed.status == 0, listed.err);
    CHECK(listed.out.find("wimz-401") != std::string::npos);
    CHECK(listed.out.find("Kitchen robot") != std::string::npos);

    // watch --json, fed by the agent's stdin.
    child_process watch(RELAY_TEST_RELAY_CLI, {"--relay", url, "watch", "wimz-401", "--json", "--count", "2"}, env);
    REQUIRE_MESSAGE(watch.wait_output("watching wimz-401"), watch.output());
    agent.write_line(R"({"event":"battery","data":{"pct":80}})");
    agent.write_line(R"({"event":"mission_progress","data":{"pct":10}})");
    REQUIRE_MESSAGE(watch.wait() == 0, watch.output());
    auto events = lines_of(watch.out());
    REQUIRE(events.size() == 2);
    CHECK(json::parse(events[0]).at("event") == "battery");
    CHECK(json::parse(events[0]).at("data").at("pct") == 80);
    CHECK(json::parse(events[1]).at("event") == "mission_progress");

    // send: the result, and the exit status says whether the robot said ok.
    auto sent = cli({"send", "wimz-401", "dock", R"({"speed":1})", "--json"});
    REQUIRE_MESSAGE(sent.status == 0, sent.err);
    auto result = json::parse(sent.out);
    CHECK(result.at("ok") == true);
    CHECK(result.at("data").at("did") == "dock");
    auto refused = cli({"send", "wimz-401", "refuse"});
    CHECK(refused.status == 1);
    CHECK(refused.err.find("not ok") != std::string::npos);
    auto unknown = cli({"send", "nope-1", "dock"});
    CHECK(unknown.status == 1);
    CHECK(unknown.err.find("DEVICE_NOT_FOUND") != std::string::npos);

    // rest: through the relay's tunnel to the robot's local API.
    auto rest = cli({"rest", "wimz-401", "GET", "/status?verbose=1"});
    CHECK_MESSAGE(rest.status == 0, rest.err);
    CHECK(json::parse(rest.out).at("battery") == 77);
    CHECK(json::parse(rest.out).at("asked") == "/status?verbose=1");

    // webrtc-probe: robot-agent streams no media and says so; the probe reports each step.
    auto probe = cli({"webrtc-probe", "wimz-401", "--wait", "20"});
    CHECK(probe.status == 1);
    CHECK(probe.out.find("-> webrtc_request") != std::string::npos);
    CHECK(probe.out.find("webrtc_close") != std::string::npos);

    // turn answers something sensible (credentials, or why there are none) and never crashes.
    auto turn = cli({"turn", "wimz-401"});
    CHECK((turn.status == 0 || turn.status == 1));

    // Sharing: another user gets the device as an operator.
    auto bob = make_account(relayd.port(), "bob");
    auto shared = cli({"device", "share", "wimz-401", bob.email, "--role", "operator"});
    CHECK_MESSAGE(shared.status == 0, shared.err);
    json::value bob_ok;
    auto bob_app = connect_app(relayd.port(), bob, &bob_ok);
    REQUIRE(bob_ok.at("devices").as_array().size() == 1);
    CHECK(bob_ok.at("devices").as_array()[0].at("role") == "operator");
    CHECK(cli({"device", "share", "wimz-401", bob.email, "--role", "admin"}).status == 2);

    // Shutting the robot down shows in watch's human output as presence.
    child_process human(RELAY_TEST_RELAY_CLI, {"--relay", url, "watch"}, env);
    REQUIRE(human.wait_output("watching 1 device(s)"));
    CHECK(agent.stop(SIGTERM) == 0);
    CHECK(human.wait_output("robot_disconnected"));
    human.stop(SIGINT);

    // Rotation: a new secret, different from the first.
    auto rotated = cli({"device", "rotate", "wimz-401", "--json"});
    REQUIRE_MESSAGE(rotated.status == 0, rotated.err);
    CHECK(std::string(json::parse(rotated.out).at("device_secret").as_string()) != secret);

    auto out = cli({"logout"});
    CHECK(out.status == 0);
    auto after = cli({"devices"});
    CHECK(after.status == 1);
    CHECK(after.err.find("not logged in") != std::string::npos);
}

TEST_CASE("relay-cli watch renews its token on the open socket and keeps receiving past several expiries")
{
    // The relay ends an app socket when its access token expires, unless renewed on it.
    relayd_process relayd(test_env({{"RELAY_ACCESS_TTL", "30"}}));
    cli_runner cli(relayd.port());
    auto robot = connect_robot(relayd.port(), cli.account_with_device("watch@example.com", "wimz-403"));

    // One event every 10 s for 70 s: past the expiry of the first token and two renewed ones.
    constexpr int ticks = 8;
    child_process watch(RELAY_TEST_RELAY_CLI, {"--relay", cli.url, "watch", "wimz-403", "--json", "--count",
                                               std::to_string(ticks)},
                        cli.env);
    REQUIRE_MESSAGE(watch.wait_output("watching wimz-403"), watch.output());
    for (int n = 0; n < ticks; ++n) {
        if (n > 0)
            std::this_thread::sleep_for(std::chrono::seconds(10));
        robot->send(tick(n));
    }
    REQUIRE_MESSAGE(watch.wait() == 0, watch.output());
    auto events = lines_of(watch.out());
    REQUIRE(events.size() == ticks);
    for (int n = 0; n < ticks; ++n)
        CHECK(json::parse(events[static_cast<std::size_t>(n)]).at("data").at("n") == n);
    // Renewed in time on the same connection: never cut off, never refused.
    CHECK_MESSAGE(watch.err().find("closed the connection") == std::string::npos, watch.err());
    CHECK_MESSAGE(watch.err().find("relay error") == std::string::npos, watch.err());
}

TEST_CASE("relay-cli refreshes when the relay no longer takes its access token (restarted with a new JWT secret)")
{
    // A refresh token lives (hashed) in the relay's database, so it survives the new secret.
    temp_dir data;
    auto relay_env = test_env({{"RELAY_DATABASE", data.path() + "/relay.db"}, {"RELAY_JWT_SECRET", std::string(40, 'a')}});
    auto relayd = std::make_unique<relayd_process>(relay_env);
    auto const port = relayd->port();
    cli_runner cli(port);
    auto device = cli.account_with_device("restart@example.com", "wimz-404");

    child_process watch(RELAY_TEST_RELAY_CLI, {"--relay", cli.url, "watch", "wimz-404", "--json", "--count", "1"},
                        cli.env);
    REQUIRE_MESSAGE(watch.wait_output("watching wimz-404"), watch.output());

    relayd.reset();
    relay_env["RELAY_JWT_SECRET"] = std::string(40, 'b');
    relay_env["RELAY_PORT"] = std::to_string(port);
    relayd = std::make_unique<relayd_process>(relay_env);

    // The stored access token is unexpired by relay-cli's clock but signed with the old secret.
    auto listed = cli({"devices", "--json"});
    REQUIRE_MESSAGE(listed.status == 0, listed.err);
    CHECK(listed.out.find("wimz-404") != std::string::npos);

    // watch's reconnect is refused (4401) with its old token: it refreshes and carries on.
    REQUIRE_MESSAGE(watch.wait_output("reconnected", std::chrono::seconds(60)), watch.output());
    auto robot = connect_robot(port, device);
    robot->send(tick(1));
    REQUIRE_MESSAGE(watch.wait() == 0, watch.output());
    // The last line is the robot's event (robot_connected, a presence event, may come first).
    auto printed = lines_of(watch.out());
    REQUIRE(!printed.empty());
    CHECK(json::parse(printed.back()).at("event") == "tick");
}

TEST_CASE("relay-cli: help, usage errors and an unreachable relay have their own exit statuses")
{
    temp_dir dir;
    std::map<std::string, std::string> env{{"RELAY_CLI_CONFIG", dir.path() + "/config.json"}, {"HOME", dir.path()}};
    auto cli = [&](std::vector<std::string> args) { return run_program(RELAY_TEST_RELAY_CLI, args, env); };

    auto help = cli({"--help"});
    CHECK(help.status == 0);
    CHECK(help.out.find("webrtc-probe") != std::string::npos);
    for (std::string command : {"login", "register", "logout", "devices", "device", "watch", "send", "rest", "turn",
                                "webrtc-probe"}) {
        auto r = cli({command, "--help"});
        CAPTURE(command);
        CHECK(r.status == 0);
        CHECK(r.out.find("usage: relay-cli") != std::string::npos);
    }
    CHECK(cli({}).status == 2);
    CHECK(cli({"teleport"}).status == 2);
    CHECK(cli({"devices", "--bogus"}).status == 2);
    CHECK(cli({"send", "wimz-1"}).status == 2);
    CHECK(cli({"--relay", "ftp://x", "devices"}).status == 2);

    auto unreachable = cli({"--relay", "http://127.0.0.1:1", "login", "--email", "a@example.com", "--password-stdin"});
    CHECK(unreachable.status == 2); // no password on stdin: a usage error before any network

    auto no_relay = run_program(RELAY_TEST_RELAY_CLI, {"--relay", "http://127.0.0.1:1", "login", "--email", "a@example.com",
                                                       "--password-stdin"},
                                env, "pw\n");
    CHECK(no_relay.status == 3);
    CHECK(no_relay.err.find("cannot connect") != std::string::npos);

    auto not_logged_in = cli({"--relay", "http://127.0.0.1:1", "devices"});
    CHECK(not_logged_in.status == 1);
    CHECK(not_logged_in.err.find("login") != std::string::npos);
}
TEST_CASE("over TLS: relay-cli and the robot SDK verify relayd's certificate")
{
    auto cert = make_self_signed_certificate("localhost");
    relayd_process relayd(test_env({{"RELAY_TLS_CERT", cert->cert_path}, {"RELAY_TLS_KEY", cert->key_path}}));
    std::string url = "https://localhost:" + std::to_string(relayd.port());
    temp_dir dir;
    std::map<std::string, std::string> env{{"RELAY_CLI_CONFIG", dir.path() + "/config.json"}, {"HOME", dir.path()}};
    auto cli = [&](std::vector<std::string> args, std::string const& input = {}) {
        args.insert(args.begin(), {"--relay", url, "--ca-file", cert->cert_path});
        return run_program(RELAY_TEST_RELAY_CLI, args, env, input);
    };

    auto untrusted = run_program(RELAY_TEST_RELAY_CLI, {"--relay", url, "register", "--email", "tls@example.com",
                                                         "--password-stdin"},
                                 env, "correct horse battery\n");
    CHECK(untrusted.status == 3);
    CHECK(untrusted.err.find("certificate") != std::string::npos);

    auto reg = cli({"register", "--email", "tls@example.com", "--password-stdin"}, "correct horse battery\n");
    REQUIRE_MESSAGE(reg.status == 0, reg.err);
    auto added = cli({"device", "add", "TLS robot", "--id", "wimz-402", "--json"});
    REQUIRE_MESSAGE(added.status == 0, added.err);

    relay::robot::client_options options;
    options.url = url;
    options.device_id = "wimz-402";
    options.device_secret = std::string(json::parse(added.out).at("device_secret").as_string());
    options.ca_file = cert->cert_path;
    client_events seen;
    relay::robot::client robot(options);
    seen.attach(robot);
    robot.start();
    REQUIRE(seen.wait_connects(1));

    child_process watch(RELAY_TEST_RELAY_CLI, {"--relay", url, "--ca-file", cert->cert_path, "watch", "--json", "--count", "1"},
                        env);
    REQUIRE_MESSAGE(watch.wait_output("watching"), watch.output());
    CHECK(!robot.send_event("over_tls", json::object{{"secure", true}}));
    REQUIRE_MESSAGE(watch.wait() == 0, watch.output());
    auto event = json::parse(watch.out());
    CHECK(event.at("event") == "over_tls");
    CHECK(event.at("device_id") == "wimz-402");
}
#endif
