// An app socket ends with its login (issue 13, defect 4; docs/protocol.md "How long an app
// socket lives"): at its access token's expiry unless renewed on the socket, at the logout of
// the login that opened it, and at a password reset or a refresh-token reuse for every socket
// of the user. Against a real relayd with the shortest access-token lifetime it accepts.
#include "integration/api_test_helpers.hpp"
#include "support/barrier.hpp"
#include "support/fixtures.hpp"

#include <relay/protocol/base64.hpp>
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
    auto payload = relay::protocol::base64url_decode(token.substr(first + 1, token.rfind('.') - first - 1));
    REQUIRE(payload);
    return json::parse(*payload).at("exp").as_int64();
}

/** Sleeps until the wall clock has passed unix time `t`. */
void sleep_past(std::int64_t t)
{
    while (std::chrono::system_clock::now() < std::chrono::system_clock::time_point(std::chrono::seconds(t)))
        std::this_thread::sleep_for(200ms);
}

/** The socket got an `error` with `code`, then the relay closed it with 4401. */
void check_ended(ws_client& app, std::string const& code, std::chrono::milliseconds within = 10s)
{
    auto err = app.expect("error", within);
    REQUIRE_MESSAGE(!err.is_null(), "the socket was not told that it ends");
    CHECK(str(err, "code") == code);
    CHECK(app.wait_closed(10s) == 4401);
}

/** `access_token` is refused everywhere: on the HTTP API and for a new app socket. */
void check_token_refused(std::uint16_t port, std::string const& access_token)
{
    auto devices = http_get(port, "/api/devices", access_token);
    CAPTURE(devices.body);
    CHECK(devices.status == 401);
    ws_client ws(port, "/ws/app", header_list{{"Authorization", "Bearer " + access_token}});
    auto err = ws.expect("error");
    REQUIRE_MESSAGE(!err.is_null(), "a new socket was opened with the token of an ended login");
    CHECK(str(err, "code") == "UNAUTHORIZED");
    CHECK(ws.wait_closed(10s) == 4401);
}

/** A robot event reaches `app`. */
void check_event_arrives(ws_client& robot, ws_client& app, std::string const& name)
{
    robot.send(json::object{{"type", "event"}, {"event", name}, {"data", json::object{}}});
    auto e = app.expect("event", 10s);
    REQUIRE_MESSAGE(!e.is_null(), "no event");
    CHECK(str(e, "event") == name);
}

/** A user with a robot online and an app socket of their first login. */
struct user_with_robot {
    user_with_robot(std::string const& prefix, std::string const& device_id)
        : port(relayd.port()),
          ann(make_account(port, prefix)),
          robot(connect_robot(port, make_device(port, ann, device_id))),
          app(open_app(port, ann.access_token))
    {
    }

    relayd_process relayd{short_lived_env()};
    std::uint16_t port;
    account ann;
    std::unique_ptr<ws_client> robot;
    std::unique_ptr<ws_client> app;
};

/** A user with sockets of two logins, and another user's socket beside them. */
struct two_logins_and_a_bystander {
    explicit two_logins_and_a_bystander(std::string const& prefix)
        : port(relayd.port()),
          ann(make_account(port, prefix)),
          bob(make_account(port, "bystander")),
          phone(open_app(port, ann.access_token)),
          laptop(open_app(port, log_in(port, ann).access)),
          bystander(open_app(port, bob.access_token))
    {
    }

    relayd_process relayd{short_lived_env()};
    std::uint16_t port;
    account ann;
    account bob;
    std::unique_ptr<ws_client> phone;
    std::unique_ptr<ws_client> laptop;
    std::unique_ptr<ws_client> bystander;
};

} // namespace

TEST_CASE("an app socket ends at its token's expiry with TOKEN_EXPIRED and 4401; refused renewals change nothing")
{
    user_with_robot t("expiry", "wimz-101");
    auto bob = make_account(t.port, "stranger");
    check_event_arrives(*t.robot, *t.app, "before_expiry");

    // Renewals that are refused: an error each, the socket stays, and it keeps its expiry.
    t.app->send(json::object{{"type", "auth"}, {"token", bob.access_token}});
    auto foreign = t.app->expect("error");
    REQUIRE(!foreign.is_null());
    CHECK(str(foreign, "code") == "UNAUTHORIZED");
    t.app->send(json::object{{"type", "auth"}, {"token", "not-a-token"}});
    auto invalid = t.app->expect("error");
    REQUIRE(!invalid.is_null());
    CHECK(str(invalid, "code") == "UNAUTHORIZED");
    t.app->send(json::object{{"type", "auth"}, {"token", ""}});
    CHECK(!t.app->expect("error").is_null());
    expect_nothing_before_pong(*t.app, "error");

    auto const exp = expiry_of(t.ann.access_token);
    auto err = t.app->expect("error", std::chrono::seconds(short_ttl + 15));
    REQUIRE_MESSAGE(!err.is_null(), "the socket outlived its access token");
    CHECK(str(err, "code") == "TOKEN_EXPIRED");
    // Not before the token's expiry (the relay's clock is this machine's).
    CHECK(std::chrono::system_clock::now() >= std::chrono::system_clock::time_point(std::chrono::seconds(exp)));
    CHECK(t.app->wait_closed(10s) == 4401);

    // Nothing more reached it; a new socket with a fresh token is served again.
    auto fresh = log_in(t.port, t.ann);
    auto again = open_app(t.port, fresh.access);
    check_event_arrives(*t.robot, *again, "after_reconnect");
}

TEST_CASE("renewing on the open socket keeps it past the first token's expiry")
{
    user_with_robot t("renew", "wimz-102");
    auto const first_exp = expiry_of(t.ann.access_token);

    // Halfway through the first token's life, a fresh one of the same user.
    std::this_thread::sleep_for(std::chrono::seconds(short_ttl / 2));
    auto renewed = refresh(t.port, t.ann.refresh_token);
    t.app->send(json::object{{"type", "auth"}, {"token", renewed.access}});
    auto answer = t.app->expect("auth_renewed");
    REQUIRE_MESSAGE(!answer.is_null(), "renewal was not accepted");
    CHECK(answer.at("expires_at").as_int64() == expiry_of(renewed.access));
    CHECK(answer.at("expires_at").as_int64() > first_exp);

    sleep_past(first_exp + 2);
    expect_nothing_before_pong(*t.app, "error");
    check_event_arrives(*t.robot, *t.app, "after_first_expiry");
    CHECK(t.app->is_open());

    // Its life now follows the second token.
    check_ended(*t.app, "TOKEN_EXPIRED", std::chrono::seconds(short_ttl + 15));
}

TEST_CASE("logout closes the sockets of that login, not those of another login of the same user")
{
    user_with_robot t("logout", "wimz-103");
    // The same login, renewed through a refresh: still that login.
    auto rotated = refresh(t.port, t.ann.refresh_token);
    auto phone_too = open_app(t.port, rotated.access);
    auto laptop_login = log_in(t.port, t.ann);
    auto laptop = open_app(t.port, laptop_login.access);

    auto out = http_json(t.port, "POST", "/api/auth/logout", json::object{{"refresh_token", rotated.refresh}});
    REQUIRE(out.status == 204);
    check_ended(*t.app, "UNAUTHORIZED");
    check_ended(*phone_too, "UNAUTHORIZED");
    // The login's access tokens end with it, though they have not expired.
    check_token_refused(t.port, t.ann.access_token);
    check_token_refused(t.port, rotated.access);

    expect_nothing_before_pong(*laptop, "error");
    CHECK(http_get(t.port, "/api/devices", laptop_login.access).status == 200);
    check_event_arrives(*t.robot, *laptop, "after_logout");
    // An unknown refresh token ends nothing.
    CHECK(http_json(t.port, "POST", "/api/auth/logout", json::object{{"refresh_token", "never-issued"}}).status == 204);
    expect_nothing_before_pong(*laptop, "error");
}

TEST_CASE("a password reset closes every socket of the user, and only theirs")
{
    two_logins_and_a_bystander t("reset");
    // A token minted before logins were named (no sid) is ended too.
    relay::auth::jwt_codec codec(api_test::jwt_secret);
    auto legacy = open_app(t.port, codec.sign(relay::auth::make_claims(t.ann.user_id, std::chrono::system_clock::now(),
                                                                         std::chrono::seconds(short_ttl))));

    // A user-wide end refuses tokens of earlier seconds (tokens carry whole seconds): let the
    // fixture's tokens be from one.
    std::this_thread::sleep_for(1100ms);
    REQUIRE(http_json(t.port, "POST", "/api/auth/password-reset", json::object{{"email", t.ann.email}}).status == 202);
    auto token = logged_reset_token(t.relayd, t.ann.email);
    REQUIRE(!token.empty());
    auto confirmed = http_json(t.port, "POST", "/api/auth/password-reset/confirm",
                               json::object{{"token", token}, {"new_password", "a brand new passphrase"}});
    REQUIRE(confirmed.status == 204);
    check_ended(*t.phone, "UNAUTHORIZED");
    check_ended(*t.laptop, "UNAUTHORIZED");
    check_ended(*legacy, "UNAUTHORIZED");
    expect_nothing_before_pong(*t.bystander, "error");
    check_token_refused(t.port, t.ann.access_token);
    CHECK(http_get(t.port, "/api/devices", t.bob.access_token).status == 200);
    // Logging in with the new password at once is served.
    auto again = http_json(t.port, "POST", "/api/auth/login",
                           json::object{{"email", t.ann.email}, {"password", "a brand new passphrase"}});
    REQUIRE(again.status == 200);
    open_app(t.port, str(again.json(), "access_token"));
}

TEST_CASE("a refresh-token reuse closes every socket of the user")
{
    two_logins_and_a_bystander t("reuse");
    refresh(t.port, t.ann.refresh_token);
    // The same refresh token again: someone else holds a copy.
    auto reused = http_json(t.port, "POST", "/api/auth/refresh", json::object{{"refresh_token", t.ann.refresh_token}});
    REQUIRE(reused.status == 401);
    check_ended(*t.phone, "UNAUTHORIZED");
    check_ended(*t.laptop, "UNAUTHORIZED");
    expect_nothing_before_pong(*t.bystander, "error");
    check_token_refused(t.port, t.ann.access_token);
}
