// An app socket ends with its login (issue 13, defect 4; docs/protocol.md "How long an app
// socket lives"): at its access token's expiry unless renewed on the socket, at the logout of
// the login that opened it, and at a password reset or a refresh-token reuse for every socket
// of the user. Against a real relayd with the shortest access-token lifetime it accepts.
#include "integration/api_test_helpers.hpp"
#include "support/fixtures.hpp"

#include <relay/auth/encoding.hpp>
#include <relay/auth/jwt.hpp>

#include <chrono>
#include <thread>

using namespace api_test;
using namespace std::chrono_literals;

namespace {

/** The shortest RELAY_ACCESS_TTL relayd accepts, in seconds. */
constexpr int short_ttl = 30;

/** A relay whose access tokens live short_ttl seconds, in dev mode (reset tokens in its log). */
env_map short_lived_env()
{
    return api_test::test_env({{"RELAY_ACCESS_TTL", std::to_string(short_ttl)}, {"RELAY_DEV", "true"}});
}

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

/** A login's token pair, made through the API like an app does. */
struct login_pair {
    std::string access;
    std::string refresh;
};

login_pair log_in(std::uint16_t port, account const& who)
{
    auto r = http_json(port, "POST", "/api/auth/login",
                       json::object{{"email", who.email}, {"password", "correct horse battery"}});
    REQUIRE(r.status == 200);
    return {str(r.json(), "access_token"), str(r.json(), "refresh_token")};
}

login_pair refresh(std::uint16_t port, std::string const& refresh_token)
{
    auto r = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", refresh_token}});
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    return {str(r.json(), "access_token"), str(r.json(), "refresh_token")};
}

/** An app socket authenticated with `access_token`. */
std::unique_ptr<ws_client> open_app(std::uint16_t port, std::string const& access_token)
{
    auto ws = std::make_unique<ws_client>(port, "/ws/app", header_list{{"Authorization", "Bearer " + access_token}});
    REQUIRE(!ws->expect("auth_ok").is_null());
    return ws;
}

/** The `exp` claim of a token (read, not verified: the test only needs to know when it ends). */
std::int64_t expiry_of(std::string const& token)
{
    auto first = token.find('.');
    auto payload = relay::auth::base64url_decode(token.substr(first + 1, token.rfind('.') - first - 1));
    REQUIRE(payload);
    return json::parse(*payload).at("exp").as_int64();
}

/** Sleeps until the wall clock has passed unix time `t`. */
void sleep_past(std::int64_t t)
{
    while (std::chrono::system_clock::now() < std::chrono::system_clock::time_point(std::chrono::seconds(t)))
        std::this_thread::sleep_for(200ms);
}

/**
 * A barrier on the socket: a ping and its pong, so every message the relay sent before it has
 * been read. True when the pong came and no `error` was among those messages.
 */
bool still_served(ws_client& app, std::string const& id)
{
    auto before = app.skipped().size();
    app.send(json::object{{"type", "ping"}, {"id", id}});
    auto pong = app.expect("pong", 10s);
    if (pong.is_null() || str(pong, "id") != id)
        return false;
    for (auto i = before; i < app.skipped().size(); ++i)
        if (str(app.skipped()[i], "type") == "error")
            return false;
    return true;
}

/** The socket got an `error` with `code`, then the relay closed it with 4401. */
void check_ended(ws_client& app, std::string const& code, std::chrono::milliseconds within = 10s)
{
    auto err = app.expect("error", within);
    REQUIRE_MESSAGE(!err.is_null(), "the socket was not told that it ends");
    CHECK(str(err, "code") == code);
    CHECK(app.wait_closed(10s) == 4401);
}

/** A robot event reaches `app`. */
void check_event_arrives(ws_client& robot, ws_client& app, std::string const& name)
{
    robot.send(json::object{{"type", "event"}, {"event", name}, {"data", json::object{}}});
    auto e = app.expect("event", 10s);
    REQUIRE_MESSAGE(!e.is_null(), "no event");
    CHECK(str(e, "event") == name);
}

} // namespace

TEST_CASE("an app socket ends at its token's expiry with TOKEN_EXPIRED and 4401; refused renewals change nothing")
{
    relayd_process relayd(short_lived_env());
    auto const port = relayd.port();
    auto ann = make_account(port, "expiry");
    auto bob = make_account(port, "stranger");
    auto dev = make_device(port, ann, "wimz-101");
    auto robot = connect_robot(port, dev);
    auto app = open_app(port, ann.access_token);
    check_event_arrives(*robot, *app, "before_expiry");

    // Renewals that are refused: an error each, the socket stays, and it keeps its expiry.
    app->send(json::object{{"type", "auth"}, {"token", bob.access_token}});
    auto foreign = app->expect("error");
    REQUIRE(!foreign.is_null());
    CHECK(str(foreign, "code") == "UNAUTHORIZED");
    app->send(json::object{{"type", "auth"}, {"token", "not-a-token"}});
    auto invalid = app->expect("error");
    REQUIRE(!invalid.is_null());
    CHECK(str(invalid, "code") == "UNAUTHORIZED");
    app->send(json::object{{"type", "auth"}, {"token", ""}});
    CHECK(!app->expect("error").is_null());
    CHECK(still_served(*app, "p1"));

    auto const exp = expiry_of(ann.access_token);
    auto err = app->expect("error", std::chrono::seconds(short_ttl + 15));
    REQUIRE_MESSAGE(!err.is_null(), "the socket outlived its access token");
    CHECK(str(err, "code") == "TOKEN_EXPIRED");
    // Not before the token's expiry (the relay's clock is this machine's).
    CHECK(std::chrono::system_clock::now() >= std::chrono::system_clock::time_point(std::chrono::seconds(exp)));
    CHECK(app->wait_closed(10s) == 4401);

    // Nothing more reached it; a new socket with a fresh token is served again.
    auto fresh = log_in(port, ann);
    auto again = open_app(port, fresh.access);
    check_event_arrives(*robot, *again, "after_reconnect");
}

TEST_CASE("renewing on the open socket keeps it past the first token's expiry")
{
    relayd_process relayd(short_lived_env());
    auto const port = relayd.port();
    auto ann = make_account(port, "renew");
    auto dev = make_device(port, ann, "wimz-102");
    auto robot = connect_robot(port, dev);
    auto app = open_app(port, ann.access_token);
    auto const first_exp = expiry_of(ann.access_token);

    // Halfway through the first token's life, a fresh one of the same user.
    std::this_thread::sleep_for(std::chrono::seconds(short_ttl / 2));
    auto renewed = refresh(port, ann.refresh_token);
    app->send(json::object{{"type", "auth"}, {"token", renewed.access}});
    auto answer = app->expect("auth_renewed");
    REQUIRE_MESSAGE(!answer.is_null(), "renewal was not accepted");
    CHECK(answer.at("expires_at").as_int64() == expiry_of(renewed.access));
    CHECK(answer.at("expires_at").as_int64() > first_exp);

    sleep_past(first_exp + 2);
    CHECK(still_served(*app, "p2"));
    check_event_arrives(*robot, *app, "after_first_expiry");
    CHECK(app->is_open());

    // Its life now follows the second token.
    check_ended(*app, "TOKEN_EXPIRED", std::chrono::seconds(short_ttl + 15));
}

TEST_CASE("logout closes the sockets of that login, not those of another login of the same user")
{
    relayd_process relayd(short_lived_env());
    auto const port = relayd.port();
    auto ann = make_account(port, "logout");
    auto dev = make_device(port, ann, "wimz-103");
    auto robot = connect_robot(port, dev);
    auto phone = open_app(port, ann.access_token);
    // The same login, renewed through a refresh: still that login.
    auto rotated = refresh(port, ann.refresh_token);
    auto phone_too = open_app(port, rotated.access);
    auto laptop_login = log_in(port, ann);
    auto laptop = open_app(port, laptop_login.access);

    auto out = http_json(port, "POST", "/api/auth/logout", json::object{{"refresh_token", rotated.refresh}});
    REQUIRE(out.status == 204);
    check_ended(*phone, "UNAUTHORIZED");
    check_ended(*phone_too, "UNAUTHORIZED");

    CHECK(still_served(*laptop, "p3"));
    check_event_arrives(*robot, *laptop, "after_logout");
    // An unknown refresh token ends nothing.
    CHECK(http_json(port, "POST", "/api/auth/logout", json::object{{"refresh_token", "never-issued"}}).status == 204);
    CHECK(still_served(*laptop, "p4"));
}

TEST_CASE("a password reset closes every socket of the user, and only theirs")
{
    relayd_process relayd(short_lived_env());
    auto const port = relayd.port();
    auto ann = make_account(port, "reset");
    auto bob = make_account(port, "bystander");
    auto phone = open_app(port, ann.access_token);
    auto laptop = open_app(port, log_in(port, ann).access);
    // A token minted before logins were named (no sid) is ended too.
    relay::auth::jwt_codec codec(api_test::jwt_secret);
    auto legacy = open_app(port, codec.sign(relay::auth::make_claims(ann.user_id, std::chrono::system_clock::now(),
                                                                       std::chrono::seconds(short_ttl))));
    auto bystander = open_app(port, bob.access_token);

    REQUIRE(http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", ann.email}}).status == 202);
    auto token = logged_reset_token(relayd, ann.email);
    REQUIRE(!token.empty());
    auto confirmed = http_json(port, "POST", "/api/auth/password-reset/confirm",
                               json::object{{"token", token}, {"new_password", "a brand new passphrase"}});
    REQUIRE(confirmed.status == 204);
    check_ended(*phone, "UNAUTHORIZED");
    check_ended(*laptop, "UNAUTHORIZED");
    check_ended(*legacy, "UNAUTHORIZED");
    CHECK(still_served(*bystander, "p5"));
}

TEST_CASE("a refresh-token reuse closes every socket of the user")
{
    relayd_process relayd(short_lived_env());
    auto const port = relayd.port();
    auto ann = make_account(port, "reuse");
    auto bob = make_account(port, "bystander");
    auto phone = open_app(port, ann.access_token);
    auto laptop = open_app(port, log_in(port, ann).access);
    auto bystander = open_app(port, bob.access_token);

    refresh(port, ann.refresh_token);
    // The same refresh token again: someone else holds a copy.
    auto reused = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", ann.refresh_token}});
    REQUIRE(reused.status == 401);
    check_ended(*phone, "UNAUTHORIZED");
    check_ended(*laptop, "UNAUTHORIZED");
    CHECK(still_served(*bystander, "p6"));
}
