// Device keys against a real relayd (contract section 8, docs/auth.md "Device keys"): a device
// registered with an Ed25519 public key, a robot signing the challenge with the private key, and
// the owner switching a device between a secret and a key. Also run on PostgreSQL
// (integration-pg).
#include "integration/api_test_helpers.hpp"

#include <relay/auth/device_auth.hpp>
#include <relay/auth/device_key.hpp>
#include <relay/store/store.hpp>

#include <chrono>
#include <fstream>
#include <thread>

using namespace api_test;
using namespace std::chrono_literals;
using relay::auth::device_private_key;

namespace {

std::string public_text(device_private_key const& key)
{
    return relay::auth::device_public_key_text(key.public_key());
}

/** A /ws/device connection that answered its challenge with `sign(nonce)`. */
template <class Sign>
std::unique_ptr<ws_client> answer_challenge(std::uint16_t port, std::string const& device_id, Sign sign)
{
    auto robot = std::make_unique<ws_client>(port, "/ws/device");
    auto challenge = robot->expect("auth_challenge");
    REQUIRE(challenge.is_object());
    auto nonce = std::string(challenge.at("nonce").as_string());
    robot->send(json::object{{"type", "auth"}, {"device_id", device_id}, {"signature", sign(nonce)}});
    return robot;
}

std::unique_ptr<ws_client> robot_with_key(std::uint16_t port, std::string const& device_id, device_private_key const& key)
{
    return answer_challenge(port, device_id, [&](std::string const& nonce) {
        return relay::auth::device_key_signature(key, nonce, device_id);
    });
}

std::unique_ptr<ws_client> robot_with_secret(std::uint16_t port, std::string const& device_id, std::string const& secret)
{
    return answer_challenge(port, device_id, [&](std::string const& nonce) {
        return relay::auth::device_signature(secret, nonce, device_id);
    });
}

/** The relay refused the robot as the contract says for every failure: UNAUTHORIZED, then 4401. */
void check_refused(ws_client& robot)
{
    auto error = robot.expect("error", 10s);
    REQUIRE(error.is_object());
    CHECK(error.at("code") == "UNAUTHORIZED");
    CHECK(robot.wait_closed(10s) == 4401);
}

} // namespace

TEST_CASE("device keys: a device created with a public key has no secret, and its robot signs in with the key")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    auto bob = access_token_for(port, "bob@example.com");
    auto const key = device_private_key::generate();

    // docs/api.md: create a device with a public key
    auto created = http_json(port, "POST", "/api/devices",
                             json::object{{"name", "Kitchen robot"}, {"device_id", "wimz-001"}, {"public_key", public_text(key)}},
                             ann);
    CAPTURE(created.body);
    REQUIRE(created.status == 201);
    CHECK(created.json() == json::object{{"device_id", "wimz-001"}, {"name", "Kitchen robot"}, {"key_type", "ed25519"}});

    // The owner sees the key; a viewer sees only that it is a key device.
    auto mine = http_get(port, "/api/devices/wimz-001", ann).json();
    CHECK(mine.at("key_type") == "ed25519");
    CHECK(mine.at("public_key") == json::value(public_text(key)));
    REQUIRE(http_json(port, "POST", "/api/devices/wimz-001/members",
                      json::object{{"email", "bob@example.com"}, {"role", "viewer"}}, ann)
                .status == 201);
    auto theirs = http_get(port, "/api/devices/wimz-001", bob).json();
    CHECK(theirs.at("key_type") == "ed25519");
    CHECK_FALSE(theirs.as_object().contains("public_key"));
    CHECK(http_get(port, "/api/devices", ann).json().as_array().at(0).at("key_type") == "ed25519");

    // The robot signs in with its key and its events reach the owner.
    auto app = std::make_unique<ws_client>(port, "/ws/app", header_list{{"Authorization", "Bearer " + ann}});
    REQUIRE(app->expect("auth_ok").is_object());
    auto robot = robot_with_key(port, "wimz-001", key);
    REQUIRE(robot->expect("auth_ok").is_object());
    robot->send(json::object{{"type", "event"}, {"event", "battery"}, {"data", {{"pct", 80}}}});
    auto event = app->expect("event");
    while (event.is_object() && event.at("event") != "battery")
        event = app->expect("event");
    REQUIRE(event.is_object());
    CHECK(event.at("device_id") == "wimz-001");
    CHECK(event.at("data").at("pct") == 80);
}

TEST_CASE("device keys: every wrong answer for a key device gets the same UNAUTHORIZED and 4401")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    auto const key = device_private_key::generate();
    REQUIRE(http_json(port, "POST", "/api/devices",
                      json::object{{"name", "k"}, {"device_id", "wimz-001"}, {"public_key", public_text(key)}}, ann)
                .status == 201);
    auto secret = std::string(create_device(port, ann, "wimz-002").at("device_secret").as_string());

    SUBCASE("another key")
    {
        check_refused(*robot_with_key(port, "wimz-001", device_private_key::generate()));
    }
    SUBCASE("an HMAC answer, as a secret device gives")
    {
        check_refused(*robot_with_secret(port, "wimz-001", "any secret at all"));
    }
    SUBCASE("an HMAC keyed with the empty secret a key device stores")
    {
        check_refused(*robot_with_secret(port, "wimz-001", ""));
    }
    SUBCASE("the right signature in upper case")
    {
        check_refused(*answer_challenge(port, "wimz-001", [&](std::string const& nonce) {
            auto sig = relay::auth::device_key_signature(key, nonce, "wimz-001");
            for (auto& c : sig)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return sig;
        }));
    }
    SUBCASE("a key answer for a secret device")
    {
        check_refused(*robot_with_key(port, "wimz-002", key));
    }
    SUBCASE("a key answer for an unknown device")
    {
        check_refused(*robot_with_key(port, "nobody-001", key));
    }
    // And the right ones still work (a failure never locks the real robot out).
    REQUIRE(robot_with_key(port, "wimz-001", key)->expect("auth_ok").is_object());
    REQUIRE(robot_with_secret(port, "wimz-002", secret)->expect("auth_ok").is_object());
}

TEST_CASE("device keys: what POST /api/devices refuses")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    auto const key = public_text(device_private_key::generate());
    auto refused = [&](json::object body) {
        auto r = http_json(port, "POST", "/api/devices", body, ann);
        CAPTURE(r.body);
        CHECK(r.status == 400);
        CHECK(r.error_code() == "BAD_MESSAGE");
        return r.body;
    };
    CHECK(refused({{"name", "r"}, {"public_key", "not a key"}}).find("public_key") != std::string::npos);
    refused({{"name", "r"}, {"public_key", key + "="}});
    refused({{"name", "r"}, {"public_key", key.substr(0, 42)}});
    refused({{"name", "r"}, {"public_key", 42}});
    CHECK(refused({{"name", "r"}, {"public_key", key}, {"key_type", "secret"}}).find("not both") != std::string::npos);
    refused({{"name", "r"}, {"public_key", key}, {"device_secret", "mine"}});
    refused({{"name", "r"}, {"key_type", "ed25519"}});
    refused({{"name", "r"}, {"key_type", "rsa"}, {"public_key", key}});
    // Nothing was created by any of them.
    CHECK(http_get(port, "/api/devices", ann).json().as_array().empty());

    // A PEM public key is accepted and stored in the base64url form.
    auto pem_key = device_private_key::generate();
    std::string const pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                            "-----END PUBLIC KEY-----\n";
    auto r = http_json(port, "POST", "/api/devices", json::object{{"name", "pem"}, {"device_id", "pem-1"}, {"public_key", pem}}, ann);
    REQUIRE(r.status == 201);
    CHECK(http_get(port, "/api/devices/pem-1", ann).json().at("public_key") == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    // A secret device's answer is unchanged: no key_type in it.
    CHECK(create_device(port, ann, "plain-1").size() == 3);
}

TEST_CASE("device keys: PUT key disconnects a robot on its secret, which then only the key admits; POST secret goes back")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    auto const ann_id = register_user(port, "ann@example.com");
    auto ann = std::string(login(port, "ann@example.com").at("access_token").as_string());
    auto bob = access_token_for(port, "bob@example.com");
    auto secret = std::string(create_device(port, ann, "wimz-001").at("device_secret").as_string());
    auto const key = device_private_key::generate();

    auto robot = robot_with_secret(port, "wimz-001", secret);
    REQUIRE(robot->expect("auth_ok").is_object());

    // Only the owner may set a key; a bad key changes nothing.
    CHECK(http_json(port, "PUT", "/api/devices/wimz-001/key", json::object{{"public_key", public_text(key)}}, bob).status ==
          404);
    auto bad = http_json(port, "PUT", "/api/devices/wimz-001/key", json::object{{"public_key", "nope"}}, ann);
    CHECK(bad.status == 400);
    CHECK(bad.error_code() == "BAD_MESSAGE");
    CHECK(http_json(port, "PUT", "/api/devices/wimz-001/key", json::object{}, ann).status == 400);
    CHECK(robot->is_open());

    // docs/api.md: set a device key
    auto set = http_json(port, "PUT", "/api/devices/wimz-001/key", json::object{{"public_key", public_text(key)}}, ann);
    CAPTURE(set.body);
    REQUIRE(set.status == 200);
    CHECK(set.json() ==
          json::object{{"device_id", "wimz-001"}, {"key_type", "ed25519"}, {"public_key", public_text(key)}});
    CHECK(robot->wait_closed(10s) == 4401);
    CHECK(http_get(port, "/api/devices/wimz-001", ann).json().at("key_type") == "ed25519");

    // The audit trail records it (written off the request's path: polled, boundedly).
    bool recorded = false;
    for (auto until = std::chrono::steady_clock::now() + 10s; !recorded && std::chrono::steady_clock::now() < until;) {
        auto trail = http_get(port, "/api/devices/wimz-001/audit", ann).json();
        for (auto const& e : trail.at("entries").as_array())
            recorded = recorded || (e.at("action") == "device.key_set" && e.at("actor") == json::value(ann_id) &&
                                    e.at("detail").at("key_type") == "ed25519");
        if (!recorded)
            std::this_thread::sleep_for(50ms);
    }
    CHECK(recorded);

    check_refused(*robot_with_secret(port, "wimz-001", secret));
    auto keyed = robot_with_key(port, "wimz-001", key);
    REQUIRE(keyed->expect("auth_ok").is_object());

    // Replacing the key disconnects the robot on the old one.
    auto const next_key = device_private_key::generate();
    REQUIRE(http_json(port, "PUT", "/api/devices/wimz-001/key", json::object{{"public_key", public_text(next_key)}}, ann)
                .status == 200);
    CHECK(keyed->wait_closed(10s) == 4401);
    check_refused(*robot_with_key(port, "wimz-001", key));
    auto on_next = robot_with_key(port, "wimz-001", next_key);
    REQUIRE(on_next->expect("auth_ok").is_object());

    // docs/api.md: rotate the secret, also back from a key
    auto back = http_json(port, "POST", "/api/devices/wimz-001/secret", json::object{}, ann);
    REQUIRE(back.status == 200);
    auto new_secret = std::string(back.json().at("device_secret").as_string());
    CHECK(on_next->wait_closed(10s) == 4401);
    CHECK(http_get(port, "/api/devices/wimz-001", ann).json().at("key_type") == "secret");
    CHECK_FALSE(http_get(port, "/api/devices/wimz-001", ann).json().as_object().contains("public_key"));
    check_refused(*robot_with_key(port, "wimz-001", next_key));
    check_refused(*robot_with_secret(port, "wimz-001", secret));
    REQUIRE(robot_with_secret(port, "wimz-001", new_secret)->expect("auth_ok").is_object());
}

TEST_CASE("device keys: relayd device add --public-key stores only the key, from base64url or a PEM file")
{
    file_database db;
    REQUIRE(run_relayd({"user", "add", "ann@example.com"}, db.env, good_password + "\n").first == 0);
    auto const key = device_private_key::generate();

    auto [st, out] = run_relayd({"device", "add", "wimz-001", "--owner", "ann@example.com", "--public-key", public_text(key)},
                                db.env);
    CAPTURE(out);
    REQUIRE(st == 0);
    CHECK(out.find("Ed25519 key " + public_text(key)) != std::string::npos);
    CHECK(out.find("shown only now") == std::string::npos); // no secret

    std::string const pem_file = db.dir.path() + "/public.pem";
    std::ofstream(pem_file) << "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                               "-----END PUBLIC KEY-----\n";
    REQUIRE(run_relayd({"device", "add", "wimz-002", "--owner", "ann@example.com", "--public-key", "@" + pem_file}, db.env)
                .first == 0);
    auto bad = run_relayd({"device", "add", "wimz-003", "--owner", "ann@example.com", "--public-key", "nope"}, db.env);
    CHECK(bad.first == 1);
    CHECK(bad.second.find("Ed25519") != std::string::npos);

    {
        auto store = relay::store::open_store(db.path);
        REQUIRE(store.has_value());
        auto one = (*store)->get_device("wimz-001");
        REQUIRE(one.has_value());
        CHECK(one->key_type == relay::store::device_key_type::ed25519);
        CHECK(one->public_key == public_text(key));
        CHECK(one->secret_sealed.empty());
        CHECK((*store)->get_device("wimz-002")->public_key == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        CHECK_FALSE((*store)->get_device("wimz-003").has_value());
    }

    // A relay on that database admits the robot with its key.
    relayd_process relayd(db.env);
    REQUIRE(robot_with_key(relayd.port(), "wimz-001", key)->expect("auth_ok").is_object());
}
