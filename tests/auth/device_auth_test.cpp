#include <relay/auth/device_auth.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/protocol/base64.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

using namespace relay::auth;
using relay::protocol::base64url_decode;
using relay::protocol::base64url_encode;

namespace {
// A fixed challenge (base64url of bytes 0..31) and its answer, computed independently with
// `printf %s "$nonce.wimz-001" | openssl dgst -sha256 -hmac "$secret"`: what a robot must send.
constexpr std::string_view vector_secret = "s3cr3t-device-key-for-tests-0001";
constexpr std::string_view vector_nonce = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
constexpr std::string_view vector_device = "wimz-001";
constexpr std::string_view vector_signature = "f960eadbc7b4b6d14d54483e491c256eecba3b2a820dc72de98830b82931bdb8";
} // namespace

TEST_CASE("nonces are base64url of 32 fresh random bytes")
{
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto const nonce = make_nonce();
        CHECK(nonce.size() == 43);
        auto const raw = base64url_decode(nonce);
        REQUIRE(raw);
        CHECK(raw->size() == 32);
        seen.insert(nonce);
    }
    CHECK(seen.size() == 100);
}

TEST_CASE("device_signature matches the contract's construction")
{
    CHECK(base64url_decode(vector_nonce) == std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
                                                        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
                                              32));
    CHECK(device_signature(vector_secret, vector_nonce, vector_device) == vector_signature);
    CHECK(verify_device_signature(vector_secret, vector_nonce, vector_device, vector_signature));
}

TEST_CASE("verify_device_signature refuses every wrong answer")
{
    auto const secret = generate_device_secret();
    auto const nonce = make_nonce();
    auto const sig = device_signature(secret, nonce, "wimz-001");
    CHECK(sig.size() == 64);
    CHECK(std::all_of(sig.begin(), sig.end(), [](char c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); }));
    CHECK(verify_device_signature(secret, nonce, "wimz-001", sig));

    std::string upper = sig;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    CHECK(verify_device_signature(secret, nonce, "wimz-001", upper));

    CHECK(!verify_device_signature(secret, nonce, "wimz-002", sig));         // another device
    CHECK(!verify_device_signature(secret, make_nonce(), "wimz-001", sig));  // replay on a new challenge
    CHECK(!verify_device_signature(generate_device_secret(), nonce, "wimz-001", sig));
    CHECK(!verify_device_signature(secret, nonce, "wimz-001", sig.substr(1)));
    CHECK(!verify_device_signature(secret, nonce, "wimz-001", sig + "0"));
    CHECK(!verify_device_signature(secret, nonce, "wimz-001", ""));
    CHECK(!verify_device_signature(secret, nonce, "wimz-001", "g" + sig.substr(1)));
    CHECK(!verify_device_signature(secret, nonce, "wimz-001", " " + sig.substr(1)));
    CHECK(!verify_device_signature(secret, nonce, "wimz-001", base64url_encode(*hex_decode(sig))));
    for (std::size_t i = 0; i < sig.size(); ++i) {
        auto changed = sig;
        changed[i] = changed[i] == '0' ? '1' : '0';
        CHECK(!verify_device_signature(secret, nonce, "wimz-001", changed));
    }
}

TEST_CASE("device secrets are 32 random bytes, base64url")
{
    auto const a = generate_device_secret();
    CHECK(a.size() == 43);
    CHECK(base64url_decode(a)->size() == 32);
    CHECK(generate_device_secret() != a);
}
