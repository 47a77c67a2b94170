// Device keys from the robot's side against a real relayd: the SDK's device_key_file,
// relay-cli device keygen / add --public-key, and robot-agent --key-file (docs/auth.md "Device keys").
#include "child_process.hpp"
#include "sdk_test_support.hpp"
#include "support/relayd_process.hpp"

#include <relay/auth/device_key.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include <sys/stat.h>

using namespace relay::test;
namespace json = boost::json;
namespace robot = relay::robot;
using relay::auth::device_private_key;

namespace {

std::string public_text(device_private_key const& key)
{
    return relay::auth::device_public_key_text(key.public_key());
}

/** Writes `text` to `path` with mode 0600. */
void write_file(std::string const& path, std::string const& text)
{
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0600);
}

std::string read_file(std::string const& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/** A device of `owner` registered with `key`'s public key. */
void make_key_device(std::uint16_t port, account const& owner, std::string const& device_id, std::string const& key)
{
    auto r = http_json(port, "POST", "/api/devices",
                       json::object{{"name", "Keyed robot"}, {"device_id", device_id}, {"public_key", key}},
                       owner.access_token);
    CAPTURE(r.body);
    REQUIRE(r.status == 201);
}

/** Options for a robot that signs with the key in `key_file`. */
robot::client_options key_options(std::uint16_t port, std::string const& device_id, std::string const& key_file)
{
    auto o = robot_options(port, device_credentials{device_id, {}});
    o.device_key_file = key_file;
    return o;
}

} // namespace

TEST_CASE("robot-sdk: a client with device_key_file signs in and its events reach the app")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    temp_dir dir;
    auto const key = device_private_key::generate();
    auto const key_file = dir.path() + "/device-key.pem";
    write_file(key_file, key.to_pem());
    make_key_device(relayd.port(), owner, "wimz-k01", public_text(key));
    auto app = connect_app(relayd.port(), owner);

    auto&& [seen, client] = started_client(key_options(relayd.port(), "wimz-k01", key_file));
    REQUIRE(seen.wait_connects(1));
    CHECK(seen.connects().front().device_id == "wimz-k01");
    CHECK(!client.send_event("battery", json::object{{"pct", 64}}));
    auto event = next_robot_event(*app);
    REQUIRE(!event.is_null());
    CHECK(event.at("event") == "battery");
    CHECK(event.at("device_id") == "wimz-k01");
    CHECK(event.at("data").at("pct") == 64);

    // The owner goes back to a secret: the robot is disconnected and its key refused; with the
    // new secret (set_device_secret drops the key) it is back.
    auto back = http_json(relayd.port(), "POST", "/api/devices/wimz-k01/secret", json::object{}, owner.access_token);
    REQUIRE(back.status == 200);
    REQUIRE(seen.wait_reason_count(robot::disconnect_reason::auth_failed, 1));
    client.set_device_secret(std::string(back.json().at("device_secret").as_string()));
    REQUIRE(seen.wait_connects(2));
    CHECK(!client.send_event("battery", json::object{{"pct", 63}}));
    event = next_robot_event(*app);
    REQUIRE(!event.is_null());
    CHECK(event.at("data").at("pct") == 63);
}

TEST_CASE("robot-sdk: a wrong key is auth_failed (4401), as a wrong secret is")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    temp_dir dir;
    auto const key_file = dir.path() + "/other.pem";
    write_file(key_file, device_private_key::generate().to_pem());
    make_key_device(relayd.port(), owner, "wimz-k02", public_text(device_private_key::generate()));

    auto&& [seen, client] = started_client(key_options(relayd.port(), "wimz-k02", key_file));
    auto failure = seen.wait_reason(robot::disconnect_reason::auth_failed);
    REQUIRE(failure);
    CHECK(failure->close_code == 4401);
    CHECK(seen.connects().empty());
}

TEST_CASE("robot-sdk: exactly one of device_secret and a readable Ed25519 device_key_file")
{
    temp_dir dir;
    auto const good = dir.path() + "/device-key.pem";
    write_file(good, device_private_key::generate().to_pem());
    auto const public_pem = dir.path() + "/public.pem";
    write_file(public_pem, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                           "-----END PUBLIC KEY-----\n");
    auto const garbage = dir.path() + "/garbage.pem";
    write_file(garbage, "not a key\n");

    auto options = [&](std::string secret, std::string key_file) {
        robot::client_options o;
        o.url = "ws://127.0.0.1:1";
        o.device_id = "wimz-001";
        o.device_secret = std::move(secret);
        o.device_key_file = std::move(key_file);
        return o;
    };
    CHECK_NOTHROW(robot::client(options("", good)));
    CHECK_NOTHROW(robot::client(options("a secret", "")));
    CHECK_THROWS_AS(robot::client(options("", "")), std::invalid_argument);
    CHECK_THROWS_AS(robot::client(options("a secret", good)), std::invalid_argument);
    CHECK_THROWS_AS(robot::client(options("", dir.path() + "/missing.pem")), std::invalid_argument);
    CHECK_THROWS_AS(robot::client(options("", dir.path())), std::invalid_argument); // a directory
    CHECK_THROWS_AS(robot::client(options("", public_pem)), std::invalid_argument);
    CHECK_THROWS_AS(robot::client(options("", garbage)), std::invalid_argument);
}

#if defined(RELAY_TEST_RELAY_CLI) && defined(RELAY_TEST_ROBOT_AGENT)
TEST_CASE("relay-cli device keygen writes a 0600 key once; device add --public-key and robot-agent --key-file use it")
{
    relayd_process relayd(test_env());
    std::string const url = "http://127.0.0.1:" + std::to_string(relayd.port());
    temp_dir dir;
    std::map<std::string, std::string> env{{"RELAY_CLI_CONFIG", dir.path() + "/cli/config.json"}, {"HOME", dir.path()}};
    auto cli = [&](std::vector<std::string> args, std::string const& input = {}) {
        args.insert(args.begin(), {"--relay", url});
        return run_program(RELAY_TEST_RELAY_CLI, args, env, input);
    };
    auto const key_file = dir.path() + "/robot.pem";

    // keygen: the public key alone on stdout, the private key in a file only its owner reads.
    auto made = cli({"device", "keygen", "--out", key_file});
    REQUIRE_MESSAGE(made.status == 0, made.err);
    auto const public_key = made.out.substr(0, made.out.find('\n'));
    CHECK(made.out == public_key + "\n");
    CHECK(made.err.find(key_file) != std::string::npos);
    struct stat st{};
    REQUIRE(::stat(key_file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto const pem = read_file(key_file);
    CHECK(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    auto key = device_private_key::from_pem(pem);
    REQUIRE(key);
    CHECK(public_text(*key) == public_key);

    // It never overwrites a key.
    auto again = cli({"device", "keygen", "--out", key_file});
    CHECK(again.status == 1);
    CHECK(again.err.find("already exists") != std::string::npos);
    CHECK(read_file(key_file) == pem);
    // --json names both.
    auto as_json = cli({"device", "keygen", "--out", dir.path() + "/second.pem", "--json"});
    REQUIRE_MESSAGE(as_json.status == 0, as_json.err);
    CHECK(json::parse(as_json.out).at("key_file") == json::value(dir.path() + "/second.pem"));

    // add --public-key: a key device, no secret.
    auto reg = cli({"register", "--email", "ann@example.com", "--password-stdin"}, "correct horse battery\n");
    REQUIRE_MESSAGE(reg.status == 0, reg.err);
    auto bad = cli({"device", "add", "Robot", "--id", "wimz-k03", "--public-key", "not-a-key"});
    CHECK(bad.status == 2);
    auto added = cli({"device", "add", "Robot", "--id", "wimz-k03", "--public-key", public_key, "--json"});
    REQUIRE_MESSAGE(added.status == 0, added.err);
    CHECK(json::parse(added.out) == json::value{{"device_id", "wimz-k03"}, {"name", "Robot"}, {"key_type", "ed25519"}});

    // robot-agent --key-file: connects with the key, and an event reaches the owner's watch.
    child_process agent(RELAY_TEST_ROBOT_AGENT, {"--relay", url, "--device-id", "wimz-k03", "--key-file", key_file}, {});
    REQUIRE_MESSAGE(agent.wait_output("connected to"), agent.output());
    child_process watch(RELAY_TEST_RELAY_CLI, {"--relay", url, "watch", "wimz-k03", "--json", "--count", "1"}, env);
    REQUIRE_MESSAGE(watch.wait_output("watching wimz-k03"), watch.output());
    agent.write_line(R"({"event":"battery","data":{"pct":55}})");
    REQUIRE_MESSAGE(watch.wait() == 0, watch.output());
    auto event = json::parse(watch.out());
    CHECK(event.at("event") == "battery");
    CHECK(event.at("data").at("pct") == 55);
    agent.stop();

    // The agent refuses a secret beside the key, and a file that holds no key.
    child_process both(RELAY_TEST_ROBOT_AGENT,
                       {"--relay", url, "--device-id", "wimz-k03", "--key-file", key_file, "--secret-file", key_file}, {});
    CHECK(both.wait() == 2);
    auto const not_key = dir.path() + "/not-a-key.pem";
    write_file(not_key, "hello\n");
    child_process wrong(RELAY_TEST_ROBOT_AGENT, {"--relay", url, "--device-id", "wimz-k03", "--key-file", not_key}, {});
    CHECK(wrong.wait() == 2);
    CHECK(wrong.err().find("Ed25519") != std::string::npos);
}
#endif
