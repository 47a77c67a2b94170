#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/protocol/errc.hpp>
#include <relay/protocol/base64.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace relay::auth;
using relay::protocol::base64url_decode;
using relay::protocol::base64url_encode;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

// RFC 7515 appendix A.1: the HS256 example, its JWK key ("k") and its signature.
constexpr std::string_view rfc7515_header = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
constexpr std::string_view rfc7515_payload
    = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr std::string_view rfc7515_signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view rfc7515_k
    = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

// jwt.io's default HS256 example and its secret.
constexpr std::string_view jwtio_token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                         "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
                                         "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
constexpr std::string_view jwtio_secret = "your-256-bit-secret";

std::string const secret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::int64_t t0 = 1'800'000'000;

system_clock::time_point at(std::int64_t unix_seconds) { return system_clock::time_point(seconds(unix_seconds)); }

// A token with arbitrary header and payload JSON and a *correct* HS256 MAC under `key`, so a
// test isolates the one thing it changes.
std::string forge(std::string_view header, std::string_view payload, std::string_view key = secret)
{
    auto input = base64url_encode(header) + "." + base64url_encode(payload);
    return input + "." + base64url_encode(hmac_sha256(key, input));
}

std::string good_payload(std::int64_t iat = t0, std::int64_t exp = t0 + 900)
{
    return R"({"sub":"user-1","iat":)" + std::to_string(iat) + R"(,"exp":)" + std::to_string(exp)
        + R"(,"jti":"abc"})";
}

constexpr std::string_view hs256_header = R"({"alg":"HS256","typ":"JWT"})";

bool is(boost::system::result<jwt_claims> const& r, relay::errc code)
{
    return r.has_error() && r.error() == relay::make_error_code(code);
}

} // namespace

TEST_CASE("RFC 7515 A.1: the example's MAC and signature check out")
{
    auto const key = base64url_decode(rfc7515_k);
    REQUIRE(key);
    CHECK(key->size() == 64);
    auto const signing_input = std::string(rfc7515_header) + "." + std::string(rfc7515_payload);
    CHECK(base64url_encode(hmac_sha256(*key, signing_input)) == rfc7515_signature);

    auto const token = signing_input + "." + std::string(rfc7515_signature);
    CHECK(verify_hs256_signature(token, *key));
    CHECK(!verify_hs256_signature(token, key->substr(1)));
    auto tampered = token;
    tampered[rfc7515_header.size() + 5] ^= 1;
    CHECK(!verify_hs256_signature(tampered, *key));

    // The codec accepts the key but not the token: the example has no sub, iat or jti.
    jwt_codec const codec(*key);
    CHECK(is(codec.verify(token, at(1300819380 - 60)), relay::errc::unauthorized));
}

TEST_CASE("jwt.io's default HS256 example verifies with its secret, which the codec refuses as too short")
{
    CHECK(verify_hs256_signature(jwtio_token, jwtio_secret));
    CHECK(!verify_hs256_signature(jwtio_token, "your-256-bit-secreT"));
    auto const dot = jwtio_token.rfind('.');
    CHECK(base64url_encode(hmac_sha256(jwtio_secret, jwtio_token.substr(0, dot))) == jwtio_token.substr(dot + 1));
    CHECK_THROWS_AS(jwt_codec(std::string(jwtio_secret)), std::invalid_argument);
}

TEST_CASE("the codec refuses short secrets and negative leeway with a clear message")
{
    CHECK_THROWS_WITH_AS(jwt_codec(std::string(31, 'x')),
        "the JWT secret (RELAY_JWT_SECRET) must be at least 32 bytes long; got 31", std::invalid_argument);
    CHECK_NOTHROW(jwt_codec(std::string(32, 'x')));
    CHECK_THROWS_AS(jwt_codec(secret, seconds(-1)), std::invalid_argument);
    CHECK(jwt_codec(secret).leeway() == seconds(30));
}

TEST_CASE("sign and verify round-trip, extra string claims included")
{
    jwt_codec const codec(secret);
    auto claims = make_claims("user-42", at(t0), seconds(900));
    CHECK(claims.sub == "user-42");
    CHECK(claims.iat == t0);
    CHECK(claims.exp == t0 + 900);
    CHECK(claims.jti.size() >= 22);
    CHECK(make_claims("u", at(t0), seconds(1)).jti != claims.jti);
    claims.extra["tenant"] = "acme";

    auto const token = codec.sign(claims);
    CHECK(token.rfind("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 0) == 0);
    auto const r = codec.verify(token, at(t0 + 10));
    REQUIRE(r.has_value());
    CHECK(*r == claims);
    CHECK(verify_hs256_signature(token, secret));
}

TEST_CASE("sid names the login: signed when set, left out when empty, optional on verify")
{
    jwt_codec const codec(secret);
    auto claims = make_claims("user-42", at(t0), seconds(900));
    CHECK(claims.sid.empty());
    claims.sid = "f_login-7";
    auto const with_sid = codec.verify(codec.sign(claims), at(t0));
    REQUIRE(with_sid.has_value());
    CHECK(with_sid->sid == "f_login-7");
    CHECK(*with_sid == claims);
    // Its place is the field, not extra, and extra cannot set it.
    CHECK(with_sid->extra.empty());
    claims.sid.clear();
    claims.extra["sid"] = "f_forged";
    auto const token = codec.sign(claims);
    CHECK(base64url_decode(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1))->find("sid") ==
          std::string::npos);
    auto const without = codec.verify(token, at(t0));
    REQUIRE(without.has_value());
    CHECK(without->sid.empty());

    // Tokens minted before the claim existed verify, with no login named.
    auto const old = codec.verify(forge(hs256_header, good_payload()), at(t0));
    REQUIRE(old.has_value());
    CHECK(old->sid.empty());
    // A sid that is not a string is not ours.
    for (std::string_view bad_sid : {"42", "null", "[\"f_1\"]", "{}"}) {
        CAPTURE(bad_sid);
        auto payload = good_payload();
        payload.insert(payload.size() - 1, R"(,"sid":)" + std::string(bad_sid));
        CHECK(is(codec.verify(forge(hs256_header, payload), at(t0)), relay::errc::unauthorized));
    }
    auto payload = good_payload();
    payload.insert(payload.size() - 1, R"(,"sid":"f_9")");
    CHECK(codec.verify(forge(hs256_header, payload), at(t0))->sid == "f_9");
}

TEST_CASE("registered claim names in extra cannot override the real claims")
{
    jwt_codec const codec(secret);
    auto claims = make_claims("user-1", at(t0), seconds(60));
    claims.extra["sub"] = "admin";
    claims.extra["exp"] = "99999999999";
    auto const r = codec.verify(codec.sign(claims), at(t0));
    REQUIRE(r.has_value());
    CHECK(r->sub == "user-1");
    CHECK(r->exp == t0 + 60);
    CHECK(r->extra.empty());
}

TEST_CASE("a token signed with another secret is unauthorized")
{
    jwt_codec const mine(secret);
    jwt_codec const theirs(secret + "!");
    auto const token = theirs.sign(make_claims("user-1", at(t0), seconds(60)));
    CHECK(is(mine.verify(token, at(t0)), relay::errc::unauthorized));
}

TEST_CASE("algorithm confusion: only a header saying exactly HS256 is accepted")
{
    jwt_codec const codec(secret);
    auto const payload = good_payload();
    REQUIRE(codec.verify(forge(hs256_header, payload), at(t0)).has_value());

    // Each of these carries a valid HS256 MAC, so only the header can be the reason.
    for (std::string_view header : {
             R"({"alg":"none","typ":"JWT"})",
             R"({"alg":"HS512","typ":"JWT"})",
             R"({"alg":"HS384"})",
             R"({"alg":"RS256","typ":"JWT"})",
             R"({"alg":"ES256"})",
             R"({"alg":"hs256"})",
             R"({"alg":"HS256 "})",
             R"({"alg":["HS256"]})",
             R"({"alg":null})",
             R"({"typ":"JWT"})",
             R"({"alg":"HS256","crit":["exp"]})",
             R"(["HS256"])",
             R"("HS256")",
         }) {
        CAPTURE(header);
        CHECK(is(codec.verify(forge(header, payload), at(t0)), relay::errc::unauthorized));
    }

    // The classic "none" attack: no signature at all.
    auto const unsigned_token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(payload) + ".";
    CHECK(is(codec.verify(unsigned_token, at(t0)), relay::errc::unauthorized));
    // RS256 confusion: an attacker who "signs" with HMAC keyed by something public, e.g. a
    // public key; with our secret unknown to them it cannot verify either.
    CHECK(is(codec.verify(forge(R"({"alg":"RS256"})", payload, "-----BEGIN PUBLIC KEY-----"), at(t0)),
        relay::errc::unauthorized));
}

TEST_CASE("a tampered payload or signature is unauthorized")
{
    jwt_codec const codec(secret);
    auto const token = codec.sign(make_claims("user-1", at(t0), seconds(900)));
    auto const first = token.find('.');
    auto const second = token.find('.', first + 1);

    // Swap in a payload naming someone else, keep the signature.
    auto const other = codec.sign(make_claims("user-2", at(t0), seconds(900)));
    auto const other_payload = other.substr(other.find('.') + 1, other.rfind('.') - other.find('.') - 1);
    auto const swapped = token.substr(0, first + 1) + other_payload + token.substr(second);
    CHECK(is(codec.verify(swapped, at(t0)), relay::errc::unauthorized));

    // Change every character of the token in turn.
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '.')
            continue;
        auto changed = token;
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        CAPTURE(i);
        CHECK(is(codec.verify(changed, at(t0)), relay::errc::unauthorized));
    }

    // The last signature character carries 2 unused bits: a variant that differs only there
    // decodes to the same MAC in lenient decoders, but must not verify here.
    auto const last = token.back();
    auto const alphabet = std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    auto variant = token;
    variant.back() = alphabet[alphabet.find(last) ^ 1];
    CHECK(is(codec.verify(variant, at(t0)), relay::errc::unauthorized));
}

TEST_CASE("expiry honours the leeway, and expired tokens say TOKEN_EXPIRED")
{
    jwt_codec const codec(secret); // 30 s leeway
    auto const token = codec.sign(make_claims("user-1", at(t0), seconds(900)));
    auto const exp = t0 + 900;
    CHECK(codec.verify(token, at(exp - 1)).has_value());
    CHECK(codec.verify(token, at(exp)).has_value());
    CHECK(codec.verify(token, at(exp + 29)).has_value());
    CHECK(is(codec.verify(token, at(exp + 30)), relay::errc::token_expired));
    CHECK(is(codec.verify(token, at(exp + 86400)), relay::errc::token_expired));

    jwt_codec const strict(secret, seconds(0));
    CHECK(strict.verify(token, at(exp - 1)).has_value());
    CHECK(is(strict.verify(token, at(exp)), relay::errc::token_expired));

    // A forged expired token is unauthorized, not expired: the signature is checked first.
    auto forged = codec.sign(make_claims("user-1", at(t0), seconds(1)));
    forged.back() = forged.back() == 'A' ? 'Q' : 'A';
    CHECK(is(codec.verify(forged, at(t0 + 3600)), relay::errc::unauthorized));
}

TEST_CASE("a token issued in the future beyond the leeway is unauthorized")
{
    jwt_codec const codec(secret);
    CHECK(codec.verify(forge(hs256_header, good_payload(t0 + 30, t0 + 900)), at(t0)).has_value());
    CHECK(is(codec.verify(forge(hs256_header, good_payload(t0 + 31, t0 + 900)), at(t0)), relay::errc::unauthorized));
    CHECK(is(codec.verify(forge(hs256_header, good_payload(t0 + 86400, t0 + 90000)), at(t0)),
        relay::errc::unauthorized));
}

TEST_CASE("missing or ill-typed claims are unauthorized")
{
    jwt_codec const codec(secret);
    for (std::string_view payload : {
             R"({"iat":1800000000,"exp":1800000900,"jti":"a"})",
             R"({"sub":"u","exp":1800000900,"jti":"a"})",
             R"({"sub":"u","iat":1800000000,"jti":"a"})",
             R"({"sub":"u","iat":1800000000,"exp":1800000900})",
             R"({"sub":42,"iat":1800000000,"exp":1800000900,"jti":"a"})",
             R"({"sub":"","iat":1800000000,"exp":1800000900,"jti":"a"})",
             R"({"sub":"u","iat":1800000000,"exp":1800000900,"jti":""})",
             R"({"sub":"u","iat":"1800000000","exp":1800000900,"jti":"a"})",
             R"({"sub":"u","iat":1800000000,"exp":"1800000900","jti":"a"})",
             R"({"sub":"u","iat":1800000000,"exp":1.8000009e9,"jti":"a"})",
             R"({"sub":"u","iat":1800000000,"exp":18446744073709551615,"jti":"a"})",
             R"({"sub":"u","iat":1800000000,"exp":null,"jti":"a"})",
             R"({"sub":["u"],"iat":1800000000,"exp":1800000900,"jti":"a"})",
             R"([1,2,3])",
             R"("just a string")",
             R"(null)",
             R"({"sub":"u","iat":1800000000,"exp":1800000900,"jti":"a")",
             "not json at all",
             "",
         }) {
        CAPTURE(payload);
        CHECK(is(codec.verify(forge(hs256_header, payload), at(t0)), relay::errc::unauthorized));
    }
    // Unknown claims, even of other types, are ignored; string ones are kept in extra.
    auto const r = codec.verify(forge(hs256_header,
                                    R"({"sub":"u","iat":1800000000,"exp":1800000900,"jti":"a","n":1,"k":"v","o":{}})"),
        at(t0));
    REQUIRE(r.has_value());
    CHECK(r->extra.size() == 1);
    CHECK(r->extra.at("k") == "v");
}

TEST_CASE("truncated tokens and garbage are unauthorized, never a crash")
{
    jwt_codec const codec(secret);
    auto const token = codec.sign(make_claims("user-1", at(t0), seconds(900)));
    for (std::size_t n = 0; n < token.size(); ++n) {
        CAPTURE(n);
        CHECK(is(codec.verify(token.substr(0, n), at(t0)), relay::errc::unauthorized));
        CHECK(is(codec.verify(token.substr(n + 1), at(t0)), relay::errc::unauthorized));
    }
    for (std::string_view garbage : {"", ".", "..", "...", "a.b.c", "a.b.c.d", "not a token", "Bearer x.y.z",
             "eyJhbGciOiJIUzI1NiJ9..", "..c2ln", "\xff\xfe.\x00.\x01"}) {
        CAPTURE(garbage);
        CHECK(is(codec.verify(garbage, at(t0)), relay::errc::unauthorized));
    }
    CHECK(is(codec.verify(token + ".", at(t0)), relay::errc::unauthorized));
    CHECK(is(codec.verify(token + "." + token, at(t0)), relay::errc::unauthorized));
    CHECK(is(codec.verify(" " + token, at(t0)), relay::errc::unauthorized));
    CHECK(is(codec.verify(token + "\n", at(t0)), relay::errc::unauthorized));
    for (int i = 0; i < 200; ++i)
        CHECK(is(codec.verify(random_bytes(static_cast<std::size_t>(i)), at(t0)), relay::errc::unauthorized));

    // Deeply nested JSON and oversized tokens are refused without trouble.
    CHECK(is(codec.verify(forge(std::string(5000, '[') + std::string(5000, ']'), good_payload()), at(t0)),
        relay::errc::unauthorized));
    auto big = make_claims("user-1", at(t0), seconds(900));
    big.extra["pad"] = std::string(jwt_codec::max_token_bytes, 'x');
    CHECK(is(codec.verify(codec.sign(big), at(t0)), relay::errc::unauthorized));
}
