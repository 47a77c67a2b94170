// GET and POST /api/turn/credentials through a real relayd, for each provider: who may ask,
// what the answer looks like, and /health while Cloudflare is down.
#include "cloudflare_stand_in.hpp"
#include "processes.hpp"

#include "support/clients.hpp"
#include "support/barrier.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <relay/turn/coturn.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>

using namespace relay::test;
using namespace turn_test;
namespace json = boost::json;

namespace {

std::string const secret = "relay-turn-test-secret";

env_map coturn_env()
{
    return test_env({{"RELAY_TURN_PROVIDER", "coturn"},
                     {"RELAY_TURN_SECRET", secret + ",retired-secret"},
                     {"RELAY_TURN_URLS", "turns:turn.example.com:5349?transport=tcp,"
                                         "turn:turn.example.com:3478?transport=tcp,turn:turn.example.com:3478"},
                     {"RELAY_STUN_URLS", "stun:stun.example.com:3478"},
                     {"RELAY_TURN_TTL", "3600"}});
}

std::string target(std::string const& device_id)
{
    return "/api/turn/credentials?device_id=" + device_id;
}

/** A relayd on `env` with an owner and one device of theirs. */
struct device_on_relay {
    explicit device_on_relay(env_map env, std::string const& device_id = {})
        : relayd(std::move(env)), port(relayd.port()), owner(make_account(port)),
          device(make_device(port, owner, device_id))
    {
    }
    /** The owner asks for TURN credentials for the device over HTTP. */
    http_reply owners_request() const { return http_get(port, target(device.device_id), owner.access_token); }

    relayd_process relayd;
    std::uint16_t port;
    account owner;
    device_credentials device;
};

/** relayd on the Cloudflare provider at `base`, trusting the test CA the way an operator would
 * add a private CA: SSL_CERT_FILE. */
env_map cloudflare_relay_env(test_pki const& pki, std::string const& base)
{
    return test_env({{"RELAY_TURN_PROVIDER", "cloudflare"},
                     {"RELAY_CF_TURN_KEY_ID", "key-123"},
                     {"RELAY_CF_TURN_API_TOKEN", "tok-secret"},
                     {"RELAY_CF_API_BASE", base},
                     {"RELAY_STUN_URLS", "stun:stun.example.com:3478"},
                     {"SSL_CERT_FILE", pki.ca_cert}});
}

std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool ends_with(std::string_view s, std::string_view tail)
{
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

/** Checks a coturn answer for `user`: signed with the first secret, UDP first, STUN last. */
void check_coturn_answer(http_reply const& r, account const& user)
{
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.header("cache-control") == "no-store");
    auto j = r.json().as_object();
    std::string username(j.at("username").as_string());
    std::string credential(j.at("credential").as_string());
    CHECK(ends_with(username, ":" + user.user_id));
    CHECK(credential == relay::turn::rest_api_credential(secret, username));
    CHECK(j.at("ttl").to_number<std::int64_t>() == 3600);
    auto expires = j.at("expires_at").to_number<std::int64_t>();
    CHECK(username == std::to_string(expires) + ":" + user.user_id);
    CHECK(std::abs(expires - (unix_now() + 3600)) <= 5);
    CHECK(j.at("urls") == json::parse(R"(["turn:turn.example.com:3478","turn:turn.example.com:3478?transport=tcp",
                                          "turns:turn.example.com:5349?transport=tcp"])"));
    auto const& servers = j.at("ice_servers").as_array();
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].at("urls") == j.at("urls"));
    CHECK(servers[0].at("username") == j.at("username"));
    CHECK(servers[0].at("credential") == j.at("credential"));
    CHECK(servers[1] == json::parse(R"({"urls":["stun:stun.example.com:3478"]})"));
}

} // namespace

TEST_CASE("GET and POST /api/turn/credentials: any role on the device, nobody else")
{
    relayd_process relayd(coturn_env());
    auto port = relayd.port();
    auto owner = make_account(port, "owner");
    auto viewer = make_account(port, "viewer");
    auto operator_ = make_account(port, "operator");
    auto stranger = make_account(port, "stranger");
    auto device = make_device(port, owner);
    share_device(port, owner, device.device_id, viewer, "viewer");
    share_device(port, owner, device.device_id, operator_, "operator");

    check_coturn_answer(http_get(port, target(device.device_id), owner.access_token), owner);
    check_coturn_answer(http_get(port, target(device.device_id), viewer.access_token), viewer);
    check_coturn_answer(http_get(port, target(device.device_id), operator_.access_token), operator_);
    check_coturn_answer(http_json(port, "POST", "/api/turn/credentials", json::object{{"device_id", device.device_id}},
                                  viewer.access_token),
                        viewer);

    // Not the stranger's device, or no device at all: the same 404, so ids cannot be probed.
    auto denied = http_get(port, target(device.device_id), stranger.access_token);
    CHECK(denied.status == 404);
    CHECK(denied.error_code() == "DEVICE_NOT_FOUND");
    auto denied_post = http_json(port, "POST", "/api/turn/credentials", json::object{{"device_id", device.device_id}},
                                 stranger.access_token);
    CHECK(denied_post.status == 404);
    CHECK(denied_post.error_code() == "DEVICE_NOT_FOUND");
    CHECK(http_get(port, target("no-such-robot"), owner.access_token).error_code() == "DEVICE_NOT_FOUND");

    auto anonymous = http_get(port, target(device.device_id));
    CHECK(anonymous.status == 401);
    CHECK(anonymous.error_code() == "UNAUTHORIZED");
    CHECK(http_json(port, "POST", "/api/turn/credentials", json::object{{"device_id", device.device_id}}).status == 401);

    auto no_device = http_get(port, "/api/turn/credentials", owner.access_token);
    CHECK(no_device.status == 400);
    CHECK(no_device.error_code() == "BAD_MESSAGE");
    auto no_field = http_json(port, "POST", "/api/turn/credentials", json::object{}, owner.access_token);
    CHECK(no_field.status == 400);
    CHECK(no_field.error_code() == "BAD_MESSAGE");
    auto bad_json = http_call(port, "POST", "/api/turn/credentials", "{nope",
                              {{"Authorization", "Bearer " + owner.access_token}});
    CHECK(bad_json.status == 400);
    CHECK(bad_json.error_code() == "BAD_JSON");
    CHECK(http_call(port, "DELETE", "/api/turn/credentials", {}, {{"Authorization", "Bearer " + owner.access_token}})
              .status == 405);

    // The secret never reaches the log, only its fingerprint.
    CHECK(relayd.output().find(secret) == std::string::npos);
    CHECK(relayd.output().find(relay::turn::secret_fingerprint(secret)) != std::string::npos);
    CHECK(http_get(port, "/health").status == 200);
}

TEST_CASE("RELAY_TURN_PROVIDER=none answers STUN only")
{
    device_on_relay d(test_env({{"RELAY_STUN_URLS", "stun:stun.example.com:3478,stun:stun2.example.com:3478"}}));
    auto& [relayd, port, owner, device] = d;
    auto r = d.owners_request();
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    auto j = r.json().as_object();
    CHECK(j.at("urls").as_array().empty());
    CHECK(j.at("username") == "");
    CHECK(j.at("credential") == "");
    CHECK(j.at("ttl").to_number<std::int64_t>() == 86400);
    CHECK(j.at("ice_servers") ==
          json::parse(R"([{"urls":["stun:stun.example.com:3478","stun:stun2.example.com:3478"]}])"));
    CHECK(http_get(port, "/health").status == 200);
}

TEST_CASE("RELAY_TURN_PROVIDER=cloudflare through relayd: issued by the API, and 503 plus /health degraded when it is down")
{
    relay::test::temp_dir dir;
    test_pki pki(dir.path());
    auto cloudflare_env = [&](std::string const& base) { return cloudflare_relay_env(pki, base); };

    SUBCASE("the API answers")
    {
        cloudflare_stand_in api(pki.server_cert, pki.server_key);
        api.set_default({201, cloudflare_body("cf-user", "cf-cred")});
        device_on_relay d(cloudflare_env(api.base_url()));
        auto& [relayd, port, owner, device] = d;
        auto r = d.owners_request();
        CAPTURE(r.body);
        CAPTURE(relayd.output());
        REQUIRE(r.status == 200);
        auto j = r.json().as_object();
        CHECK(j.at("username") == "cf-user");
        CHECK(j.at("credential") == "cf-cred");
        CHECK(j.at("urls").as_array().at(0) == "turn:turn.cloudflare.com:3478?transport=udp");
        CHECK(j.at("ttl").to_number<std::int64_t>() == 86400);
        CHECK(j.at("ice_servers").as_array().at(1) ==
              json::parse(R"({"urls":["stun:stun.cloudflare.com:3478","stun:stun.example.com:3478"]})"));
        // A second request and a POST come from the cache.
        CHECK(http_get(port, target(device.device_id), owner.access_token).status == 200);
        CHECK(http_json(port, "POST", "/api/turn/credentials", json::object{{"device_id", device.device_id}},
                        owner.access_token)
                  .status == 200);
        auto seen = api.requests();
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].authorization == "Bearer tok-secret");
        CHECK(json::parse(seen[0].body) == json::parse(R"({"ttl":86400})"));
        CHECK(http_get(port, "/health").status == 200);
        CHECK(relayd.output().find("tok-secret") == std::string::npos);
    }
    SUBCASE("the API is down")
    {
        device_on_relay d(cloudflare_env("https://127.0.0.1:" + std::to_string(closed_port()) + "/v1"));
        auto& [relayd, port, owner, device] = d;
        auto r = d.owners_request();
        CAPTURE(r.body);
        CHECK(r.status == 503);
        CHECK(r.error_code() == "TURN_UNAVAILABLE");
        CHECK(r.json().at("error").at("message").as_string().find("unreachable") != json::string::npos);

        auto health = http_get(port, "/health");
        CAPTURE(health.body);
        CHECK(health.status == 503);
        auto h = health.json().as_object();
        CHECK(h.at("status") == "degraded");
        auto const& checks = h.at("checks").as_object();
        CHECK(checks.size() == 1);
        REQUIRE(checks.contains("turn"));
        CHECK(checks.at("turn").as_string().find("unreachable") != json::string::npos);
    }
}

TEST_CASE("relayd refuses a Cloudflare API base that is not https://")
{
    try {
        relayd_process relayd(test_env({{"RELAY_TURN_PROVIDER", "cloudflare"},
                                        {"RELAY_CF_TURN_KEY_ID", "key-123"},
                                        {"RELAY_CF_TURN_API_TOKEN", "tok-secret"},
                                        {"RELAY_CF_API_BASE", "http://127.0.0.1:9/v1"}}));
        FAIL("relayd started with a clear-text Cloudflare API base");
    } catch (std::runtime_error const& e) {
        CHECK(std::string(e.what()).find("must be an https:// URL") != std::string::npos);
    }
}

// --- a robot asking over its socket (turn_credentials_request, docs/protocol.md) -----------------

namespace {

/** Sends turn_credentials_request (with `id` when not empty) and returns the next turn_credentials or error. */
json::value ask_over_socket(ws_client& robot, std::string const& id = {})
{
    json::object request{{"type", "turn_credentials_request"}};
    if (!id.empty())
        request["id"] = id;
    robot.send(request);
    for (;;) {
        auto m = robot.read_json(std::chrono::seconds(20));
        if (!m)
            return nullptr;
        auto const& type = m->at("type");
        if (type == "turn_credentials" || type == "error")
            return *m;
    }
}

/** Asks with the id "t1": the answer must be a `type` message that refers to it. */
json::value ask_expecting(ws_client& robot, char const* type)
{
    auto answer = ask_over_socket(robot, "t1");
    CAPTURE(answer);
    REQUIRE(answer.is_object());
    REQUIRE(answer.at("type") == type);
    CHECK(answer.at("ref") == "t1");
    return answer;
}

/** A relayd with one owner and their device's robot connected: what every socket case needs. */
struct robot_on_relay : device_on_relay {
    explicit robot_on_relay(env_map env, std::string const& device_id = {})
        : device_on_relay(std::move(env), device_id), robot(connect_robot(port, device))
    {
    }
    std::unique_ptr<ws_client> robot;
};

} // namespace

TEST_CASE("a robot asks over its socket: credentials for its device id, signed like the HTTP ones")
{
    robot_on_relay r(coturn_env(), "turn-bot");
    auto& robot = r.robot;

    auto answer = ask_expecting(*robot, "turn_credentials");
    CAPTURE(answer);
    auto const& c = answer.at("credentials").as_object();
    // The TURN REST form of the HTTP route, with the device id as the subject.
    std::string username(c.at("username").as_string());
    auto expires = c.at("expires_at").to_number<std::int64_t>();
    CHECK(username == std::to_string(expires) + ":turn-bot");
    CHECK(std::string(c.at("credential").as_string()) == relay::turn::rest_api_credential(secret, username));
    CHECK(c.at("ttl").to_number<std::int64_t>() == 3600);
    CHECK(std::abs(expires - (unix_now() + 3600)) <= 5);

    // Everything but the subject matches what an app gets from GET /api/turn/credentials.
    auto http = http_get(r.port, target(r.device.device_id), r.owner.access_token).json().as_object();
    CHECK(c.at("urls") == http.at("urls"));
    CHECK(c.at("ice_servers").as_array().size() == http.at("ice_servers").as_array().size());
    CHECK(c.at("ice_servers").as_array().at(1) == http.at("ice_servers").as_array().at(1));
    CHECK(c.at("ice_servers").as_array().at(0).at("username") == c.at("username"));
    CHECK(std::string(http.at("username").as_string()).find(":turn-bot") == std::string::npos);

    // Without an id the answer has no ref; a malformed request is BAD_MESSAGE and the socket stays.
    auto plain = ask_over_socket(*robot);
    REQUIRE(plain.is_object());
    CHECK(plain.at("type") == "turn_credentials");
    CHECK(!plain.as_object().contains("ref"));
    robot->send_text(R"({"type":"turn_credentials_request","id":7})");
    auto bad = robot->expect("error");
    REQUIRE(bad.is_object());
    CHECK(bad.at("code") == "BAD_MESSAGE");
    CHECK(ask_over_socket(*robot, "t2").at("ref") == "t2");
    CHECK(robot->is_open());
}

TEST_CASE("a robot's turn_credentials_request costs a token of its rate limit like any message")
{
    auto env = coturn_env();
    env["RELAY_ROBOT_RATE"] = "0.01/3";
    robot_on_relay r(env);
    auto& robot = r.robot;
    for (int i = 0; i < 3; ++i)
        CHECK(ask_over_socket(*robot, "ok" + std::to_string(i)).at("type") == "turn_credentials");
    auto limited = ask_over_socket(*robot, "over");
    REQUIRE(limited.is_object());
    CHECK(limited.at("type") == "error");
    CHECK(limited.at("code") == "RATE_LIMITED");
}

TEST_CASE("RELAY_TURN_PROVIDER=none: a robot asking over its socket gets STUN only, like the HTTP route")
{
    robot_on_relay r(test_env({{"RELAY_STUN_URLS", "stun:stun.example.com:3478"}}));
    auto answer = ask_expecting(*r.robot, "turn_credentials");
    CAPTURE(answer);
    auto const& c = answer.at("credentials");
    CHECK(c.at("urls").as_array().empty());
    CHECK(c.at("username") == "");
    CHECK(c.at("credential") == "");
    CHECK(c.at("ttl").to_number<std::int64_t>() == 86400);
    CHECK(c.at("ice_servers") == json::parse(R"([{"urls":["stun:stun.example.com:3478"]}])"));
}

TEST_CASE("a robot asking while the Cloudflare API is down gets TURN_UNAVAILABLE with the HTTP route's message")
{
    relay::test::temp_dir dir;
    test_pki pki(dir.path());
    robot_on_relay r(test_env({{"RELAY_TURN_PROVIDER", "cloudflare"},
                               {"RELAY_CF_TURN_KEY_ID", "key-123"},
                               {"RELAY_CF_TURN_API_TOKEN", "tok-secret"},
                               {"RELAY_CF_API_BASE", "https://127.0.0.1:" + std::to_string(closed_port()) + "/v1"},
                               {"SSL_CERT_FILE", pki.ca_cert}}));
    auto& robot = r.robot;

    auto answer = ask_expecting(*robot, "error");
    CAPTURE(answer);
    CHECK(answer.at("code") == "TURN_UNAVAILABLE");
    auto http = http_get(r.port, target(r.device.device_id), r.owner.access_token);
    CHECK(http.status == 503);
    CHECK(http.error_code() == "TURN_UNAVAILABLE");
    CHECK(answer.at("message") == http.json().at("error").at("message"));
    CHECK(answer.at("message").as_string().find("unreachable") != json::string::npos);
    // The robot's connection carries on.
    round_trip(*robot);
}

// --- ICE server lists as the field's clients can use them (issue 17) -----------------------------

TEST_CASE("Cloudflare's list through relayd: no port 53, UDP 3478, TCP 3478 and 80, TLS 443 and 5349; HTTP and robot alike")
{
    relay::test::temp_dir dir;
    test_pki pki(dir.path());
    cloudflare_stand_in api(pki.server_cert, pki.server_key);
    api.set_default({201, cloudflare_body("cf-user", "cf-cred")});
    robot_on_relay r(cloudflare_relay_env(pki, api.base_url()), "cf-bot");
    auto const urls = json::parse(R"(["turn:turn.cloudflare.com:3478?transport=udp",
        "turn:turn.cloudflare.com:3478?transport=tcp","turn:turn.cloudflare.com:80?transport=tcp",
        "turns:turn.cloudflare.com:443?transport=tcp","turns:turn.cloudflare.com:5349?transport=tcp"])");
    auto const ice_servers = json::parse(R"([{"urls":["turn:turn.cloudflare.com:3478?transport=udp",
        "turn:turn.cloudflare.com:3478?transport=tcp","turn:turn.cloudflare.com:80?transport=tcp",
        "turns:turn.cloudflare.com:443?transport=tcp","turns:turn.cloudflare.com:5349?transport=tcp"],
        "username":"cf-user","credential":"cf-cred"},
        {"urls":["stun:stun.cloudflare.com:3478","stun:stun.example.com:3478"]}])");

    auto http = r.owners_request();
    CAPTURE(http.body);
    REQUIRE(http.status == 200);
    CHECK(http.json().at("urls") == urls);
    CHECK(http.json().at("ice_servers") == ice_servers);

    auto answer = ask_expecting(*r.robot, "turn_credentials");
    CAPTURE(answer);
    CHECK(answer.at("credentials").at("urls") == urls);
    CHECK(answer.at("credentials").at("ice_servers") == ice_servers);
}

TEST_CASE("coturn URLs on port 53 are dropped with a start-up warning, the rest ordered")
{
    auto env = coturn_env();
    env["RELAY_TURN_URLS"] = "turn:turn.example.com:53?transport=udp,turns:turn.example.com:5349?transport=tcp,"
                             "turns:turn.example.com:443?transport=tcp,turn:turn.example.com:3478";
    env["RELAY_STUN_URLS"] = "stun:stun.example.com:53,stun:stun.example.com:3478";
    robot_on_relay r(env, "coturn-bot");
    auto const urls = json::parse(R"(["turn:turn.example.com:3478","turns:turn.example.com:443?transport=tcp",
        "turns:turn.example.com:5349?transport=tcp"])");
    auto http = r.owners_request();
    CAPTURE(http.body);
    REQUIRE(http.status == 200);
    CHECK(http.json().at("urls") == urls);
    CHECK(http.json().at("ice_servers").at(1) == json::parse(R"({"urls":["stun:stun.example.com:3478"]})"));
    auto answer = ask_expecting(*r.robot, "turn_credentials");
    CHECK(answer.at("credentials").at("urls") == urls);

    auto log = r.relayd.output();
    CAPTURE(log);
    CHECK(log.find("ice_url_dropped") != std::string::npos);
    CHECK(log.find("turn:turn.example.com:53?transport=udp") != std::string::npos);
    CHECK(log.find("stun:stun.example.com:53") != std::string::npos);
}
