#pragma once
// Shared by the api_*_test.cpp files: the environment of a test relay, accounts made through the
// HTTP API, and a request from another loopback source address (for per-address throttling).
// The emails, passwords and device ids are the ones docs/api.md shows.
#include "support/clients.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

namespace api_test {

using namespace relay::test;
namespace json = boost::json;

/** The JWT secret of test relays, so a test can forge tokens and tokens survive a restart. */
inline std::string const jwt_secret = "api-integration-tests-jwt-secret-0123456789";

/** The password docs/api.md uses; long enough for the policy. */
inline std::string const good_password = "correct horse battery staple";

/** Fast password hashing and a known JWT secret, plus `extra`. */
inline env_map test_env(env_map extra = {})
{
    extra.try_emplace("RELAY_SCRYPT_LN", "10");
    extra.try_emplace("RELAY_JWT_SECRET", jwt_secret);
    return extra;
}

/** A temporary SQLite database file for a test relay (and its admin commands) to share. */
struct file_database {
    temp_dir dir;
    std::string path = dir.path() + "/relay.db";
    env_map env = test_env({{"RELAY_DATABASE", path}});
};

/** Registers an account; returns its user id. */
inline std::string register_user(std::uint16_t port, std::string const& email,
                                 std::string const& password = good_password)
{
    auto r = http_json(port, "POST", "/api/auth/register", json::object{{"email", email}, {"password", password}});
    CAPTURE(r.body);
    REQUIRE(r.status == 201);
    return std::string(r.json().at("user_id").as_string());
}

/** Logs in; returns the whole token answer. */
inline json::object login(std::uint16_t port, std::string const& email, std::string const& password = good_password)
{
    auto r = http_json(port, "POST", "/api/auth/login", json::object{{"email", email}, {"password", password}});
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    return r.json().as_object();
}

/** Registers and logs in; returns the access token. */
inline std::string access_token_for(std::uint16_t port, std::string const& email)
{
    register_user(port, email);
    return std::string(login(port, email).at("access_token").as_string());
}

/** Creates a device; returns the 201 body. */
inline json::object create_device(std::uint16_t port, std::string const& bearer, std::string const& device_id,
                                  std::string const& name = "Kitchen robot")
{
    auto r = http_json(port, "POST", "/api/devices", json::object{{"name", name}, {"device_id", device_id}}, bearer);
    CAPTURE(r.body);
    REQUIRE(r.status == 201);
    return r.json().as_object();
}

/** A test relay with Ann (docs/api.md's user) registered. Unpack it with
 * `auto& [relayd, port, ann_id] = setup;`. */
struct relay_with_ann {
    relayd_process relayd{test_env()};
    std::uint16_t port = relayd.port();
    std::string ann_id = register_user(port, "ann@example.com");
};

/** A JSON request from `source` (another 127.0.0.0/8 address), so the relay sees another client. */
inline http_reply http_json_from(std::string const& source, std::uint16_t port, std::string const& method,
                                 std::string const& target, json::value const& body)
{
    return http_call_from(source, port, method, target, json::serialize(body));
}

/** The token a dev-mode relay logged for `email`, or empty. */
inline std::string logged_reset_token(relayd_process const& relayd, std::string const& email)
{
    auto out = relayd.output();
    std::string token;
    std::size_t at = 0;
    // The newest line wins: a test may request several tokens.
    while ((at = out.find("password_reset_token email=" + email + " token=", at)) != std::string::npos) {
        at = out.find("token=", at + 27) + 6;
        token = out.substr(at, out.find_first_of(" \n", at) - at);
    }
    return token;
}

/** The last non-empty line of a command's output (where admin commands print secrets and tokens). */
inline std::string last_line(std::string const& text)
{
    auto end = text.find_last_not_of('\n');
    if (end == std::string::npos)
        return {};
    auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

} // namespace api_test
