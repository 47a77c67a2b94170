// /api/auth/* against a real relayd (contract section 2, docs/api.md): registration, login and
// its throttling, access-token checks (expiry, forgery, algorithm confusion), refresh rotation
// and reuse detection, logout, and the password-reset flow.
#include "integration/api_test_helpers.hpp"

#include <relay/protocol/base64.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/store/store.hpp>
#include <relay/auth/crypto.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <thread>

using namespace api_test;

namespace {

std::string hs512_token(std::string const& header, std::string const& payload, std::string const& key)
{
    auto signing_input = relay::protocol::base64url_encode(header) + "." + relay::protocol::base64url_encode(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<unsigned char const*>(signing_input.data()), signing_input.size(), mac, &len);
    return signing_input + "." +
           relay::protocol::base64url_encode(std::string(reinterpret_cast<char const*>(mac), len));
}

} // namespace

TEST_CASE("register: 201 with a user id, and every refusal of the contract")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();

    // docs/api.md: register
    auto ok = http_json(port, "POST", "/api/auth/register",
                        json::object{{"email", "ann@example.com"}, {"password", "correct horse battery staple"}});
    CHECK(ok.status == 201);
    CHECK(ok.header("content-type") == "application/json");
    auto user_id = ok.json().at("user_id").as_string();
    CHECK(user_id.starts_with("u_"));
    CHECK(ok.json().as_object().size() == 1);

    // The same address in another case and with spaces is the same account.
    auto taken = http_json(port, "POST", "/api/auth/register",
                           json::object{{"email", " Ann@Example.COM "}, {"password", "another good password"}});
    CHECK(taken.status == 409);
    CHECK(taken.error_code() == "EMAIL_TAKEN");

    auto invalid = http_json(port, "POST", "/api/auth/register",
                             json::object{{"email", "ann.example.com"}, {"password", good_password}});
    CHECK(invalid.status == 400);
    CHECK(invalid.error_code() == "INVALID_EMAIL");

    auto weak = http_json(port, "POST", "/api/auth/register",
                          json::object{{"email", "bob@example.com"}, {"password", "hunter2"}});
    CHECK(weak.status == 400);
    CHECK(weak.error_code() == "WEAK_PASSWORD");
    CHECK(weak.json().at("error").at("message") == "the password must be at least 10 characters long");

    auto not_json = http_call(port, "POST", "/api/auth/register", "{\"email\":");
    CHECK(not_json.status == 400);
    CHECK(not_json.error_code() == "BAD_JSON");

    auto missing = http_json(port, "POST", "/api/auth/register", json::object{{"email", "bob@example.com"}});
    CHECK(missing.status == 400);
    CHECK(missing.error_code() == "BAD_MESSAGE");
    CHECK(missing.json().at("error").at("message") == "missing field 'password'");

    auto ill_typed = http_json(port, "POST", "/api/auth/register",
                               json::object{{"email", 42}, {"password", good_password}});
    CHECK(ill_typed.status == 400);
    CHECK(ill_typed.error_code() == "BAD_MESSAGE");
    CHECK(ill_typed.json().at("error").at("message") == "field 'email' must be a string");

    auto array = http_json(port, "POST", "/api/auth/register", json::array{1, 2});
    CHECK(array.status == 400);
    CHECK(array.error_code() == "BAD_MESSAGE");

    // Unknown fields are ignored (forward compatibility).
    auto extra = http_json(port, "POST", "/api/auth/register",
                           json::object{{"email", "bob@example.com"}, {"password", good_password}, {"locale", "de"}});
    CHECK(extra.status == 201);

    CHECK(http_get(port, "/api/auth/register").status == 405);
}

TEST_CASE("passwords containing NUL characters are WEAK_PASSWORD, on register and on reset")
{
    relayd_process relayd(test_env({{"RELAY_DEV", "true"}}));
    auto port = relayd.port();
    for (std::string const& bad : {std::string(12, '\0'), std::string("correct horse\0battery staple", 29)}) {
        auto r = http_json(port, "POST", "/api/auth/register", json::object{{"email", "nul@example.com"}, {"password", bad}});
        CHECK(r.status == 400);
        CHECK(r.error_code() == "WEAK_PASSWORD");
        CHECK(r.json().at("error").at("message") == "the password must not contain NUL characters");
    }
    register_user(port, "ann@example.com");
    REQUIRE(http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}}).status == 202);
    auto token = logged_reset_token(relayd, "ann@example.com");
    REQUIRE(!token.empty());
    auto weak = http_json(port, "POST", "/api/auth/password-reset/confirm",
                          json::object{{"token", token}, {"new_password", std::string(16, '\0')}});
    CHECK(weak.status == 400);
    CHECK(weak.error_code() == "WEAK_PASSWORD");
    // The token was not spent on the refusal.
    CHECK(http_json(port, "POST", "/api/auth/password-reset/confirm",
                    json::object{{"token", token}, {"new_password", "a much better passphrase"}})
              .status == 204);
}

TEST_CASE("register is 403 REGISTRATION_CLOSED when registration is closed")
{
    relayd_process relayd(test_env({{"RELAY_OPEN_REGISTRATION", "false"}}));
    auto r = http_json(relayd.port(), "POST", "/api/auth/register",
                       json::object{{"email", "ann@example.com"}, {"password", good_password}});
    CHECK(r.status == 403);
    CHECK(r.error_code() == "REGISTRATION_CLOSED");
}

TEST_CASE("login: a token pair; wrong password and unknown email are the same 401")
{
    relay_with_ann setup;
    auto& [relayd, port, user_id] = setup;

    // docs/api.md: login
    auto ok = http_json(port, "POST", "/api/auth/login",
                        json::object{{"email", "ann@example.com"}, {"password", "correct horse battery staple"}});
    REQUIRE(ok.status == 200);
    auto pair = ok.json().as_object();
    CHECK(pair.at("token_type") == "bearer");
    CHECK(pair.at("expires_in") == 900);
    CHECK(pair.at("refresh_token").as_string().size() == 43);
    auto access = std::string(pair.at("access_token").as_string());
    // The access token names the user and carries the configured lifetime.
    auto claims = relay::auth::jwt_codec(jwt_secret).verify(access, std::chrono::system_clock::now());
    REQUIRE(claims.has_value());
    CHECK(claims->sub == user_id);
    CHECK(claims->exp - claims->iat == 900);
    CHECK(http_get(port, "/api/devices", access).status == 200);

    // The login email is normalized like the registration email.
    CHECK(http_json(port, "POST", "/api/auth/login",
                    json::object{{"email", "ANN@example.com"}, {"password", good_password}})
              .status == 200);

    auto wrong = http_json(port, "POST", "/api/auth/login",
                           json::object{{"email", "ann@example.com"}, {"password", "not the password"}});
    auto unknown = http_json(port, "POST", "/api/auth/login",
                             json::object{{"email", "nobody@example.com"}, {"password", good_password}});
    CHECK(wrong.status == 401);
    CHECK(wrong.error_code() == "INVALID_CREDENTIALS");
    CHECK(unknown.status == 401);
    // Nothing in the answer tells an unknown account from a wrong password.
    CHECK(unknown.body == wrong.body);

    auto missing = http_json(port, "POST", "/api/auth/login", json::object{{"email", "ann@example.com"}});
    CHECK(missing.error_code() == "BAD_MESSAGE");
    CHECK(http_call(port, "POST", "/api/auth/login", "not json").error_code() == "BAD_JSON");
}

TEST_CASE("a lifetime from RELAY_ACCESS_TTL is announced in expires_in")
{
    relayd_process relayd(test_env({{"RELAY_ACCESS_TTL", "60"}}));
    register_user(relayd.port(), "ann@example.com");
    CHECK(login(relayd.port(), "ann@example.com").at("expires_in") == 60);
}

TEST_CASE("failed logins are throttled per email and per address with 429 and Retry-After")
{
    relay_with_ann setup;
    auto& [relayd, port, ann_id] = setup;
    register_user(port, "bob@example.com");
    auto attempt = [&](std::string const& from, std::string const& email, std::string const& password) {
        return http_json_from(from, port, "POST", "/api/auth/login",
                              json::object{{"email", email}, {"password", password}});
    };

    SUBCASE("per email: five failures from five addresses lock the account, not the addresses")
    {
        for (int i = 2; i <= 6; ++i)
            CHECK(attempt("127.0.0.1" + std::to_string(i), "ann@example.com", "wrong password").status == 401);
        // docs/api.md: throttled login
        auto locked = attempt("127.0.0.20", "ann@example.com", good_password);
        CHECK(locked.status == 429);
        CHECK(locked.error_code() == "RATE_LIMITED");
        auto retry = std::stoi(locked.header("retry-after"));
        CHECK(retry >= 1);
        CHECK(retry <= 60);
        // Another account from the same address is not affected.
        CHECK(attempt("127.0.0.20", "bob@example.com", good_password).status == 200);
    }
    SUBCASE("per address: thirty failures from one address lock the address, not the accounts")
    {
        // Higher than the per-account limit: many people can share one address behind a NAT.
        for (int i = 0; i < 30; ++i)
            CHECK(attempt("127.0.0.30", "guess" + std::to_string(i) + "@example.com", "wrong password").status == 401);
        auto locked = attempt("127.0.0.30", "bob@example.com", good_password);
        CHECK(locked.status == 429);
        CHECK(!locked.header("retry-after").empty());
        CHECK(attempt("127.0.0.31", "bob@example.com", good_password).status == 200);
    }
}

TEST_CASE("successful logins from one address are never throttled")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    // Many users behind one NAT: lots of successes and a few typos from one address.
    for (auto const* email : {"ann@example.com", "bob@example.com", "cid@example.com"})
        register_user(port, email);
    int typos = 0;
    for (int round = 0; round < 10; ++round) {
        for (auto const* email : {"ann@example.com", "bob@example.com", "cid@example.com"}) {
            auto r = http_json(port, "POST", "/api/auth/login",
                               json::object{{"email", email}, {"password", good_password}});
            CHECK(r.status == 200);
        }
        if (round % 3 == 0 && typos < 4) {
            ++typos;
            CHECK(http_json(port, "POST", "/api/auth/login",
                            json::object{{"email", "ann@example.com"}, {"password", "typo typo typo"}})
                      .status == 401);
        }
    }
}

TEST_CASE("expired, forged and algorithm-confused access tokens are 401")
{
    relay_with_ann setup;
    auto& [relayd, port, user_id] = setup;
    auto now = std::chrono::system_clock::now();
    relay::auth::jwt_codec codec(jwt_secret);

    // Signed with the relay's own secret, but an hour past its expiry.
    auto expired = codec.sign(relay::auth::make_claims(user_id, now - std::chrono::hours(2), std::chrono::hours(1)));
    auto r = http_get(port, "/api/devices", expired);
    CHECK(r.status == 401);
    CHECK(r.error_code() == "TOKEN_EXPIRED");
    CHECK(r.header("www-authenticate").find("invalid_token") != std::string::npos);

    // A valid forged-by-us token works: the secret is what counts.
    CHECK(http_get(port, "/api/devices", codec.sign(relay::auth::make_claims(user_id, now, std::chrono::minutes(5))))
              .status == 200);

    auto payload = json::serialize(json::object{{"sub", user_id},
                                                {"iat", std::chrono::duration_cast<std::chrono::seconds>(
                                                            now.time_since_epoch()).count()},
                                                {"exp", std::chrono::duration_cast<std::chrono::seconds>(
                                                            (now + std::chrono::minutes(5)).time_since_epoch()).count()},
                                                {"jti", "forged-1"}});
    auto none = relay::protocol::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                relay::protocol::base64url_encode(payload) + ".";
    auto hs512 = hs512_token(R"({"alg":"HS512","typ":"JWT"})", payload, jwt_secret);
    auto other_key = relay::auth::jwt_codec("another-secret-that-is-32-bytes-long!!")
                         .sign(relay::auth::make_claims(user_id, now, std::chrono::minutes(5)));
    for (auto const& bad : {none, hs512, other_key, std::string("not-a-token")}) {
        CAPTURE(bad);
        auto reply = http_get(port, "/api/devices", bad);
        CHECK(reply.status == 401);
        CHECK(reply.error_code() == "UNAUTHORIZED");
    }

    // No token, or another scheme.
    CHECK(http_get(port, "/api/devices").error_code() == "UNAUTHORIZED");
    auto basic = http_call(port, "GET", "/api/devices", {}, {{"Authorization", "Basic YW5uOnB3"}});
    CHECK(basic.status == 401);
    CHECK(basic.error_code() == "UNAUTHORIZED");
}

TEST_CASE("refresh rotates the pair; a reused refresh token revokes its whole family")
{
    relay_with_ann setup;
    auto& [relayd, port, ann_id] = setup;
    auto first = login(port, "ann@example.com");
    auto other_login = login(port, "ann@example.com"); // another device of Ann: another family
    auto r1 = std::string(first.at("refresh_token").as_string());

    // docs/api.md: refresh
    auto rotated = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", r1}});
    REQUIRE(rotated.status == 200);
    auto second = rotated.json().as_object();
    auto r2 = std::string(second.at("refresh_token").as_string());
    CHECK(r2 != r1);
    CHECK(second.at("token_type") == "bearer");
    CHECK(http_get(port, "/api/devices", std::string(second.at("access_token").as_string())).status == 200);

    // r1 again: someone replays a rotated token. 401, and r2 dies with it.
    auto reused = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", r1}});
    CHECK(reused.status == 401);
    CHECK(reused.error_code() == "UNAUTHORIZED");
    auto after = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", r2}});
    CHECK(after.status == 401);

    // The other login is untouched.
    CHECK(http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", other_login.at("refresh_token")}})
              .status == 200);

    auto unknown = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", "made-up"}});
    CHECK(unknown.status == 401);
    CHECK(unknown.error_code() == "UNAUTHORIZED");
    CHECK(http_json(port, "POST", "/api/auth/refresh", json::object{}).error_code() == "BAD_MESSAGE");
}

TEST_CASE("logout ends a login and is idempotent")
{
    relay_with_ann setup;
    auto& [relayd, port, ann_id] = setup;
    auto pair = login(port, "ann@example.com");
    auto refresh_token = std::string(pair.at("refresh_token").as_string());

    // docs/api.md: logout
    auto out = http_json(port, "POST", "/api/auth/logout", json::object{{"refresh_token", refresh_token}});
    CHECK(out.status == 204);
    CHECK(out.body.empty());
    CHECK(http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", refresh_token}}).status == 401);
    CHECK(http_json(port, "POST", "/api/auth/logout", json::object{{"refresh_token", refresh_token}}).status == 204);
    CHECK(http_json(port, "POST", "/api/auth/logout", json::object{{"refresh_token", "never-issued"}}).status == 204);
    CHECK(http_json(port, "POST", "/api/auth/logout", json::object{{"token", "x"}}).error_code() == "BAD_MESSAGE");
}

TEST_CASE("password reset in dev mode: 202, token from the log, single use, refresh tokens revoked")
{
    relayd_process relayd(test_env({{"RELAY_DEV", "true"}}));
    auto port = relayd.port();
    register_user(port, "ann@example.com");
    auto before = login(port, "ann@example.com");

    // docs/api.md: password reset request
    auto requested = http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}});
    CHECK(requested.status == 202);
    auto token = logged_reset_token(relayd, "ann@example.com");
    REQUIRE(token.size() == 43);

    // Unknown and malformed emails get the very same answer, and no token is made.
    auto unknown = http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "nobody@example.com"}});
    CHECK(unknown.status == 202);
    CHECK(unknown.body == requested.body);
    CHECK(http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "nonsense"}}).body ==
          requested.body);
    CHECK(logged_reset_token(relayd, "nobody@example.com").empty());

    // A weak new password is refused without spending the token.
    auto weak = http_json(port, "POST", "/api/auth/password-reset/confirm",
                          json::object{{"token", token}, {"new_password", "short"}});
    CHECK(weak.status == 400);
    CHECK(weak.error_code() == "WEAK_PASSWORD");

    // docs/api.md: password reset confirm
    auto confirmed = http_json(port, "POST", "/api/auth/password-reset/confirm",
                               json::object{{"token", token}, {"new_password", "a much better passphrase"}});
    CHECK(confirmed.status == 204);

    auto again = http_json(port, "POST", "/api/auth/password-reset/confirm",
                           json::object{{"token", token}, {"new_password", "yet another passphrase"}});
    CHECK(again.status == 400);
    CHECK(again.error_code() == "INVALID_TOKEN");
    auto bogus = http_json(port, "POST", "/api/auth/password-reset/confirm",
                           json::object{{"token", "bogus"}, {"new_password", "yet another passphrase"}});
    CHECK(bogus.error_code() == "INVALID_TOKEN");

    // The old password and every earlier login are gone; the new password works.
    CHECK(http_json(port, "POST", "/api/auth/login", json::object{{"email", "ann@example.com"}, {"password", good_password}})
              .status == 401);
    CHECK(http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", before.at("refresh_token")}})
              .status == 401);
    login(port, "ann@example.com", "a much better passphrase");

    CHECK(http_json(port, "POST", "/api/auth/password-reset/confirm", json::object{{"token", token}})
              .error_code() == "BAD_MESSAGE");
}

TEST_CASE("a newer reset token replaces nothing, but using one voids the others")
{
    relayd_process relayd(test_env({{"RELAY_DEV", "true"}}));
    auto port = relayd.port();
    register_user(port, "ann@example.com");
    http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}});
    auto first = logged_reset_token(relayd, "ann@example.com");
    http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}});
    auto second = logged_reset_token(relayd, "ann@example.com");
    REQUIRE(!first.empty());
    REQUIRE(second != first);
    CHECK(http_json(port, "POST", "/api/auth/password-reset/confirm",
                    json::object{{"token", second}, {"new_password", "a much better passphrase"}})
              .status == 204);
    CHECK(http_json(port, "POST", "/api/auth/password-reset/confirm",
                    json::object{{"token", first}, {"new_password", "yet another passphrase"}})
              .error_code() == "INVALID_TOKEN");
}

TEST_CASE("password-reset requests are limited per email, silently")
{
    relayd_process relayd(test_env({{"RELAY_DEV", "true"}}));
    auto port = relayd.port();
    register_user(port, "ann@example.com");
    for (int i = 0; i < 5; ++i)
        CHECK(http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}}).status ==
              202);
    auto fifth = logged_reset_token(relayd, "ann@example.com");
    auto sixth = http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}});
    CHECK(sixth.status == 202);
    CHECK(logged_reset_token(relayd, "ann@example.com") == fifth);
    CHECK(relayd.output().find("password_reset_throttled") != std::string::npos);
}

TEST_CASE("an expired reset token is INVALID_TOKEN")
{
    file_database file;
    relayd_process relayd(file.env);
    auto port = relayd.port();
    auto user_id = register_user(port, "ann@example.com");
    // Thirty minutes cannot pass in a test: write a token that expired a second ago beside the
    // running relay, in the same database.
    auto db = relay::store::open_store(file.path);
    REQUIRE(db.has_value());
    auto token = relay::auth::random_token(32);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    REQUIRE((*db)->insert_reset_token({relay::auth::sha256_hex(token), user_id, now - 1}).has_value());
    auto r = http_json(port, "POST", "/api/auth/password-reset/confirm",
                       json::object{{"token", token}, {"new_password", "a much better passphrase"}});
    CHECK(r.status == 400);
    CHECK(r.error_code() == "INVALID_TOKEN");
}

TEST_CASE("password reset in dev mode: the logged link lands on the console's reset page")
{
    // RELAY_PUBLIC_URL starts the link (a trailing '/' is dropped); without it the link is relative.
    for (auto const& [public_url, base] : {std::pair<std::string, std::string>{"https://relay.example.com/", "https://relay.example.com"},
                                           std::pair<std::string, std::string>{"", ""}}) {
        CAPTURE(public_url);
        relayd_process relayd(test_env({{"RELAY_DEV", "true"}, {"RELAY_PUBLIC_URL", public_url}}));
        auto port = relayd.port();
        register_user(port, "ann@example.com");
        REQUIRE(http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}}).status ==
                202);
        auto token = logged_reset_token(relayd, "ann@example.com");
        REQUIRE(token.size() == 43);
        auto out = relayd.output();
        CAPTURE(out);
        CHECK(out.find("password_reset_link=\"" + base + "/console/#/reset?token=" + token + "\"") != std::string::npos);
        // The page it names is served; the fragment stays in the browser.
        CHECK(http_get(port, "/console/").status == 200);
        // The token of the link is the one the confirm endpoint takes.
        CHECK(http_json(port, "POST", "/api/auth/password-reset/confirm",
                        json::object{{"token", token}, {"new_password", "a much better passphrase"}})
                  .status == 204);
    }
}

TEST_CASE("outside dev mode a reset request is logged without its token")
{
    relay_with_ann setup;
    auto& [relayd, port, ann_id] = setup;
    CHECK(http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}}).status == 202);
    auto out = relayd.output();
    CHECK(out.find("password_reset_requested") != std::string::npos);
    CHECK(out.find("relayd user reset-token") != std::string::npos);
    CHECK(out.find("token=") == std::string::npos);
    CHECK(out.find("password_reset_token") == std::string::npos);
    CHECK(out.find("password_reset_link") == std::string::npos);
}
