#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/protocol/base64.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace relay::auth;
using relay::protocol::base64_encode;
using relay::protocol::base64_encode_unpadded;
using relay::protocol::base64url_encode;

TEST_CASE("seal and open round-trip, bound to the associated data")
{
    secret_box const box(random_bytes(32));
    auto const sealed = box.seal("device-secret-value", "device:wimz-001");
    CHECK(sealed.rfind("v1.", 0) == 0);
    CHECK(sealed.find("device-secret-value") == std::string::npos);
    CHECK(box.open(sealed, "device:wimz-001") == std::string("device-secret-value"));
    CHECK(!box.open(sealed, "device:wimz-002"));
    CHECK(!box.open(sealed, ""));

    // A fresh nonce every time: equal secrets do not look equal in the database.
    auto const again = box.seal("device-secret-value", "device:wimz-001");
    CHECK(again != sealed);
    CHECK(box.open(again, "device:wimz-001") == std::string("device-secret-value"));

    CHECK(box.open(box.seal("", ""), "") == std::string());
    auto const binary = random_bytes(1000);
    CHECK(box.open(box.seal(binary, binary), binary) == binary);
}

TEST_CASE("opening with another key fails")
{
    secret_box const a(random_bytes(32));
    secret_box const b(random_bytes(32));
    CHECK(!b.open(a.seal("x", "ad"), "ad"));
}

TEST_CASE("any change to a sealed value is detected")
{
    secret_box const box(random_bytes(32));
    auto const sealed = box.seal("device-secret-value", "ad");
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        auto changed = sealed;
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        CAPTURE(i);
        CHECK(!box.open(changed, "ad"));
    }
    for (std::size_t n = 0; n < sealed.size(); ++n)
        CHECK(!box.open(sealed.substr(0, n), "ad"));
    for (std::string const& bad : {std::string(), std::string("v1."), std::string("v1.."), "v2" + sealed.substr(2),
             sealed + ".", sealed + "A", "v1." + base64url_encode(random_bytes(12)) + "." + base64url_encode("short")})
        CHECK(!box.open(bad, "ad"));
}

TEST_CASE("the sealed format is AES-256-GCM: NIST GCM test cases 13 and 14 open")
{
    secret_box const box(std::string(32, '\0'));
    auto const nonce = base64url_encode(std::string(12, '\0'));
    // Test case 13: empty plaintext, tag only.
    auto const tc13 = "v1." + nonce + "." + base64url_encode(*hex_decode("530f8afbc74536b9a963b4f1c4cb738b"));
    CHECK(box.open(tc13, "") == std::string());
    // Test case 14: 16 zero bytes.
    auto const tc14 = "v1." + nonce + "."
        + base64url_encode(*hex_decode("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"));
    CHECK(box.open(tc14, "") == std::string(16, '\0'));
    CHECK(!box.open(tc14, "x"));
}

TEST_CASE("keys: exactly 32 bytes, parsed from hex or base64")
{
    CHECK_THROWS_WITH_AS(secret_box(std::string(31, 'k')),
        "the secret sealing key must be exactly 32 bytes (64 hex characters); got 31 bytes", std::invalid_argument);
    CHECK_THROWS_AS(secret_box(std::string(33, 'k')), std::invalid_argument);
    CHECK_THROWS_AS(secret_box(""), std::invalid_argument);

    auto const raw = random_bytes(32);
    CHECK(secret_box::parse_key(hex_encode(raw)) == raw);
    std::string upper = hex_encode(raw);
    for (auto& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(secret_box::parse_key(upper) == raw);
    CHECK(secret_box::parse_key(base64_encode(raw)) == raw);
    CHECK(secret_box::parse_key(base64_encode_unpadded(raw)) == raw);
    CHECK(secret_box::parse_key(base64url_encode(raw)) == raw);
    CHECK(secret_box::parse_key("  " + hex_encode(raw) + "\n") == raw);

    CHECK(!secret_box::parse_key(""));
    CHECK(!secret_box::parse_key(hex_encode(random_bytes(31))));
    CHECK(!secret_box::parse_key(hex_encode(random_bytes(33))));
    CHECK(!secret_box::parse_key(base64_encode(random_bytes(31))));
    CHECK(!secret_box::parse_key(base64_encode(random_bytes(48)))); // 64 characters, not hex
    CHECK(!secret_box::parse_key(std::string(64, 'z')));
    CHECK(!secret_box::parse_key(hex_encode(raw).substr(0, 63) + "g"));

    auto const generated = secret_box::generate_key();
    CHECK(generated.size() == 64);
    auto const parsed = secret_box::parse_key(generated);
    REQUIRE(parsed);
    CHECK(parsed->size() == 32);
    CHECK(secret_box::generate_key() != generated);
    secret_box const box(*parsed);
    CHECK(box.open(box.seal("s", "a"), "a") == std::string("s"));
}
