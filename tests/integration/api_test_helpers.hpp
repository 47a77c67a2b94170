#pragma once
// Shared by the api_*_test.cpp files: the environment of a test relay, accounts made through the
// HTTP API, and a request from another loopback source address (for per-address throttling).
// The emails, passwords and device ids are the ones docs/api.md shows.
#include "support/clients.hpp"
#include "support/relayd_process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <cctype>
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

/** A JSON request from `source` (another 127.0.0.0/8 address), so the relay sees another client. */
inline http_reply http_json_from(std::string const& source, std::uint16_t port, std::string const& method,
                                 std::string const& target, json::value const& body)
{
    namespace net = boost::asio;
    namespace beast = boost::beast;
    namespace http = beast::http;
    using tcp = net::ip::tcp;
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(net::ip::make_address(source), 0));
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::tcp_stream stream(std::move(socket));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(body);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    http_reply out;
    out.status = res.result_int();
    for (auto const& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    return out;
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
        token = out.substr(at, out.find('\n', at) - at);
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
