// The robot-agent binary as a robot runs it: events piped into stdin reach an app through a
// real relayd, commands are answered by a --command-program script, REST-tunnel requests are
// forwarded to a local API (through a scripted relay until relayd routes them).
#ifdef RELAY_TEST_ROBOT_AGENT
#include "child_process.hpp"
#include "fake_relay.hpp"
#include "sdk_test_support.hpp"
#include "support/relayd_process.hpp"

#include <relay/protocol/base64.hpp>

#include <fstream>

#include <sys/stat.h>

using namespace relay::test;
namespace json = boost::json;

namespace {

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

/** robot-agent with a stdin pipe. */
class agent_process : public child_process {
public:
    agent_process(std::vector<std::string> args, std::map<std::string, std::string> env)
        : child_process(RELAY_TEST_ROBOT_AGENT, std::move(args), std::move(env))
    {
    }
};

std::string write_script(temp_dir const& dir, std::string const& name, std::string const& body)
{
    auto path = dir.path() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
}

/** Writes the device secret into `dir` as robot-agent's --secret-file wants it (mode 0600). */
std::string secret_file_in(temp_dir const& dir, std::string const& secret)
{
    auto path = dir.path() + "/secret";
    std::ofstream(path) << secret << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
}

/** robot-agent --exit-on-eof on `dev`, given 50 `tick` events {"i":0..49} and end of input. */
void run_fifty_ticks(agent_process& agent)
{
    for (int i = 0; i < 50; ++i)
        agent.write_line(json::serialize(json::object{{"event", "tick"}, {"data", json::object{{"i", i}}}}));
    agent.close_stdin();
}

} // namespace

TEST_CASE("robot-agent: stdin events reach the app, a --command-program answers commands")
{
    owner_with_app setup("wimz-301");
    auto& [relayd, owner, dev, app] = setup;

    temp_dir dir;
    auto program = write_script(dir, "handler.sh",
                                "input=$(cat)\n"
                                "case \"$RELAY_COMMAND\" in\n"
                                "  refuse) echo '{\"ok\":false,\"error\":{\"code\":\"NOPE\",\"message\":\"not now\"}}' ;;\n"
                                "  crash) echo 'motor jammed' >&2; exit 3 ;;\n"
                                "  *) printf '{\"ok\":true,\"data\":{\"got\":%s,\"secret\":\"%s\"}}\\n' \"$input\" "
                                "\"${RELAY_DEVICE_SECRET:-hidden}\" ;;\n"
                                "esac\n");
    agent_process agent({"--relay", "http://127.0.0.1:" + std::to_string(relayd.port()), "--device-id", dev.device_id,
                         "--command-program", program, "--capabilities", R"({"camera":true})", "--firmware", "1.0.0"},
                        {{"RELAY_DEVICE_SECRET", dev.secret}});
    REQUIRE_MESSAGE(next_presence(*app) == "robot_connected", agent.output());

    agent.write_line(R"({"event":"battery","data":{"pct":80}})");
    agent.write_line("this is not json");
    agent.write_line(R"({"event":"Bad Name"})");
    agent.write_line(R"({"event":"mission_progress","data":{"pct":10}})");
    auto e1 = next_robot_event(*app);
    auto e2 = next_robot_event(*app);
    REQUIRE_MESSAGE(!e1.is_null(), agent.output());
    REQUIRE(!e2.is_null());
    CHECK(str(e1, "event") == "battery");
    CHECK(e1.at("data").at("pct") == 80);
    CHECK(str(e2, "event") == "mission_progress");
    CHECK(agent.wait_output("stdin line 2"));
    CHECK(agent.wait_output("stdin line 3"));

    // Commands, answered by the script.
    auto command = [&](std::string const& id, std::string const& name) {
        app->send(json::object{{"type", "command"}, {"device_id", dev.device_id}, {"id", id}, {"command", name},
                               {"data", json::object{{"speed", 2}}}});
        auto result = app->expect("command_result", 30s);
        REQUIRE_MESSAGE(!result.is_null(), agent.output());
        CHECK(str(result, "id") == id);
        return result;
    };
    auto ok = command("c1", "dance");
    CHECK(ok.at("ok") == true);
    CHECK(ok.at("data").at("got").at("command") == "dance");
    CHECK(ok.at("data").at("got").at("data").at("speed") == 2);
    CHECK(ok.at("data").at("secret") == "hidden"); // the program never sees the device secret
    auto refused = command("c2", "refuse");
    CHECK(refused.at("ok") == false);
    CHECK(str(refused.at("error"), "code") == "NOPE");
    auto crashed = command("c3", "crash");
    CHECK(crashed.at("ok") == false);
    CHECK(str(crashed.at("error"), "message") == "motor jammed");

    // hello carried the agent's capabilities.
    bool camera = false;
    for (int i = 0; i < 100 && !camera; ++i) {
        auto listed = http_get(relayd.port(), "/api/devices", owner.access_token).json();
        for (auto const& d : listed.as_array())
            if (auto* caps = d.at("capabilities").if_object(); caps && caps->contains("camera"))
                camera = caps->at("camera") == true && caps->at("commands") == true;
        if (!camera)
            std::this_thread::sleep_for(50ms);
    }
    CHECK(camera);

    // SIGTERM: a clean exit, and the relay sees the robot go.
    CHECK(agent.stop(SIGTERM) == 0);
    CHECK(next_presence(*app) == "robot_disconnected");
}

TEST_CASE("robot-agent --exit-on-eof: every event reaches the relay before it exits")
{
    owner_with_app setup("wimz-302");
    auto& [relayd, owner, dev, app] = setup;
    temp_dir dir;
    agent_process agent({"--relay", "ws://127.0.0.1:" + std::to_string(relayd.port()), "--device-id", dev.device_id,
                         "--secret-file", secret_file_in(dir, dev.secret), "--exit-on-eof"},
                        {});
    run_fifty_ticks(agent);
    CHECK_MESSAGE(agent.wait() == 0, agent.output());
    for (int i = 0; i < 50; ++i) {
        auto e = next_robot_event(*app);
        REQUIRE(!e.is_null());
        CHECK(e.at("data").at("i") == i);
    }
}

TEST_CASE("robot-agent --acknowledged-events: it exits once every event is acknowledged, each delivered once")
{
    owner_with_app setup("wimz-303");
    auto& [relayd, owner, dev, app] = setup;
    temp_dir dir;
    agent_process agent({"--relay", "ws://127.0.0.1:" + std::to_string(relayd.port()), "--device-id", dev.device_id,
                         "--secret-file", secret_file_in(dir, dev.secret), "--acknowledged-events", "--exit-on-eof"},
                        {});
    run_fifty_ticks(agent);
    // Exit 0 with --exit-on-eof means flush() saw every acknowledgement.
    CHECK_MESSAGE(agent.wait() == 0, agent.output());
    CHECK_MESSAGE(agent.output().find("every event reached the relay (50 acknowledged)") != std::string::npos,
                  agent.output());
    // The relay's history holds each event exactly once, in order, with the id the agent gave it.
    auto replayed = resume_robot_events(*app, dev.device_id);
    REQUIRE(replayed.size() == 50);
    for (int i = 0; i < 50; ++i)
        CHECK(replayed[static_cast<std::size_t>(i)].at("data").at("i") == i);
}

TEST_CASE("robot-agent refuses a secret on the command line and explains what it needs")
{
    agent_process flag({"--relay", "ws://127.0.0.1:1", "--device-id", "wimz-1", "--secret", "hunter2"}, {});
    CHECK(flag.wait() == 2);
    CHECK(flag.output().find("never a flag value") != std::string::npos);

    agent_process none({"--relay", "ws://127.0.0.1:1", "--device-id", "wimz-1"}, {});
    CHECK(none.wait() == 2);
    CHECK(none.output().find("RELAY_DEVICE_SECRET") != std::string::npos);

    agent_process help({"--help"}, {});
    CHECK(help.wait() == 0);
    CHECK(help.output().find("--command-program") != std::string::npos);

    agent_process bad_url({"--relay", "ftp://x", "--device-id", "wimz-1"}, {{"RELAY_DEVICE_SECRET", "s"}});
    CHECK(bad_url.wait() == 2);
    CHECK(bad_url.output().find("relay URL") != std::string::npos);
}

TEST_CASE("robot-agent forwards REST-tunnel requests to --local-api and commands to --command-webhook")
{
    local_http_server api([](received_request const& r) {
        canned_response res;
        if (r.target == "/hook") {
            auto cmd = json::parse(r.body);
            res.headers = {{"Content-Type", "application/json"}};
            res.body = json::serialize(json::object{{"ok", true}, {"data", json::object{{"via", "webhook"}, {"command", cmd.at("command")}}}});
        } else {
            res.headers = {{"Content-Type", "application/json"}};
            res.body = json::serialize(json::object{{"method", r.method}, {"target", r.target}, {"body", r.body}});
        }
        return res;
    });
    fake_relay relay;
    agent_process agent({"--relay", "ws://127.0.0.1:" + std::to_string(relay.port()), "--device-id", "wimz-303",
                         "--local-api", "http://127.0.0.1:" + std::to_string(api.port()), "--command-webhook",
                         "http://127.0.0.1:" + std::to_string(api.port()) + "/hook"},
                        {{"RELAY_DEVICE_SECRET", "agent-secret"}});
    auto relay_side = relay.accept_robot("wimz-303", "agent-secret", 30s);
    REQUIRE_MESSAGE(relay_side, agent.output());
    auto hello = relay_side->expect("hello");
    REQUIRE(!hello.is_null());
    CHECK(hello.at("capabilities").at("rest_api") == true);

    relay_side->send(json::object{{"type", "http_request"}, {"id", "h1"}, {"method", "POST"}, {"path", "/missions/start"},
                                  {"query", "dry=1"}, {"headers", json::object{}}, {"body", json::object{{"m", 7}}}});
    auto res = relay_side->expect("http_response", 30s);
    REQUIRE_MESSAGE(!res.is_null(), agent.output());
    CHECK(str(res, "id") == "h1");
    CHECK(res.at("status") == 200);
    CHECK(res.at("body").at("method") == "POST");
    CHECK(res.at("body").at("target") == "/missions/start?dry=1");
    CHECK(json::parse(str(res.at("body"), "body")) == json::parse(R"({"m":7})"));

    relay_side->send(json::object{{"type", "command"}, {"id", "c9"}, {"from_user", "u-1"}, {"command", "dock"}, {"data", json::object{}}});
    auto result = relay_side->expect("command_result", 30s);
    REQUIRE(!result.is_null());
    CHECK(result.at("ok") == true);
    CHECK(result.at("data").at("via") == "webhook");
    CHECK(result.at("data").at("command") == "dock");
    CHECK(agent.stop(SIGINT) == 0);
}
#endif
