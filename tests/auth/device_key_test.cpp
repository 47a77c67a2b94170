#include <relay/auth/device_auth.hpp>
#include <relay/auth/device_key.hpp>
#include <relay/auth/encoding.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

using namespace relay::auth;

namespace {

std::string unhex(std::string_view text)
{
    auto raw = hex_decode(text);
    REQUIRE(raw);
    return *raw;
}

/** RFC 8032 section 7.1, TEST 1 to 3: secret key (seed), public key, message, signature. */
struct rfc8032_vector {
    char const* name;
    std::string_view seed;
    std::string_view public_key;
    std::string_view message;
    std::string_view signature;
};

constexpr std::array<rfc8032_vector, 3> rfc8032_vectors{{
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
}};

// TEST 1's key answering the device-auth test vector's challenge (device_auth_test.cpp), computed
// independently with Python's `cryptography` (Ed25519PrivateKey.from_private_bytes(seed).sign(
// b"AAEC…Hh8.wimz-001").hex()), and the same key in the forms a person registers.
constexpr std::string_view vector_nonce = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
constexpr std::string_view vector_device = "wimz-001";
constexpr std::string_view vector_signature =
    "d298b9f36945c872b19269c8659bf9ceaed08916b59bf3adffb07cedf16926f2d4187e805f16c4ac57f01863165a70124df192fa401aa1b66b04898e6bb96d0b";
constexpr std::string_view test1_public_b64url = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr std::string_view test1_public_pem = "-----BEGIN PUBLIC KEY-----\n"
                                              "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
                                              "-----END PUBLIC KEY-----\n";
constexpr std::string_view test1_private_pem = "-----BEGIN PRIVATE KEY-----\n"
                                               "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                                               "-----END PRIVATE KEY-----\n";
// An X25519 key: a valid PEM public key of the wrong algorithm.
constexpr std::string_view x25519_public_pem = "-----BEGIN PUBLIC KEY-----\n"
                                               "MCowBQYDK2VuAyEA/vxvFU4lnFPEfIuAKXADkPJBXZj3i23xxobL+fvb5Xk=\n"
                                               "-----END PUBLIC KEY-----\n";

} // namespace

TEST_CASE("device keys: the RFC 8032 section 7.1 vectors sign and verify through EVP")
{
    for (auto const& v : rfc8032_vectors) {
        CAPTURE(v.name);
        auto key = device_private_key::from_seed(unhex(v.seed));
        REQUIRE(key);
        CHECK(hex_encode(key->public_key()) == v.public_key);
        CHECK(hex_encode(key->sign(unhex(v.message))) == v.signature);
        CHECK(ed25519_verify(unhex(v.public_key), unhex(v.message), unhex(v.signature)));

        // One flipped bit anywhere makes it false.
        auto signature = unhex(v.signature);
        signature[10] = static_cast<char>(signature[10] ^ 0x01);
        CHECK_FALSE(ed25519_verify(unhex(v.public_key), unhex(v.message), signature));
        CHECK_FALSE(ed25519_verify(unhex(v.public_key), unhex(v.message) + "x", unhex(v.signature)));
    }
    // Another vector's key does not verify this one's signature.
    CHECK_FALSE(ed25519_verify(unhex(rfc8032_vectors[1].public_key), unhex(rfc8032_vectors[0].message),
                               unhex(rfc8032_vectors[0].signature)));
}

TEST_CASE("device keys: the challenge answer is lowercase hex of the signature over nonce.device_id")
{
    auto key = device_private_key::from_seed(unhex(rfc8032_vectors[0].seed));
    REQUIRE(key);
    CHECK(device_key_signature(*key, vector_nonce, vector_device) == vector_signature);
    CHECK(verify_device_key_signature(key->public_key(), vector_nonce, vector_device, vector_signature));
}

TEST_CASE("device keys: verify_device_key_signature refuses every wrong answer")
{
    auto const key = device_private_key::generate();
    auto const other = device_private_key::generate();
    auto const nonce = make_nonce();
    auto const sig = device_key_signature(key, nonce, "wimz-001");
    REQUIRE(sig.size() == 128);
    CHECK(std::all_of(sig.begin(), sig.end(), [](char c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); }));
    REQUIRE(verify_device_key_signature(key.public_key(), nonce, "wimz-001", sig));

    // Upper case is refused: the contract says lowercase, and no robot ever sent anything else.
    std::string upper = sig;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    REQUIRE(upper != sig);
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-001", upper));

    CHECK_FALSE(verify_device_key_signature(other.public_key(), nonce, "wimz-001", sig)); // wrong key
    CHECK_FALSE(verify_device_key_signature(key.public_key(), make_nonce(), "wimz-001", sig)); // other nonce
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-002", sig)); // other device
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-001", sig.substr(0, 127)));
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-001", sig.substr(0, 126)));
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-001", sig + "00"));
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-001", ""));
    std::string bad_hex = sig;
    bad_hex[5] = 'g';
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-001", bad_hex));
    // An HMAC answer (64 hex characters) of a secret device is not a key answer.
    CHECK_FALSE(verify_device_key_signature(key.public_key(), nonce, "wimz-001",
                                            device_signature("a-secret", nonce, "wimz-001")));
    // Bad public keys: wrong sizes, never a crash.
    CHECK_FALSE(verify_device_key_signature("", nonce, "wimz-001", sig));
    CHECK_FALSE(verify_device_key_signature(key.public_key() + "x", nonce, "wimz-001", sig));
    CHECK_FALSE(ed25519_verify(key.public_key(), "m", std::string(63, 'a')));
}

TEST_CASE("device keys: a public key is base64url without padding or a PEM PUBLIC KEY, nothing else")
{
    auto const raw = unhex(rfc8032_vectors[0].public_key);
    CHECK(parse_device_public_key(test1_public_b64url) == raw);
    CHECK(parse_device_public_key(test1_public_pem) == raw);
    CHECK(parse_device_public_key("  " + std::string(test1_public_b64url) + "\n") == raw);
    CHECK(device_public_key_text(raw) == test1_public_b64url);

    CHECK_FALSE(parse_device_public_key(""));
    CHECK_FALSE(parse_device_public_key("   "));
    CHECK_FALSE(parse_device_public_key(std::string(test1_public_b64url) + "=")); // padded
    CHECK_FALSE(parse_device_public_key(std::string(test1_public_b64url).substr(0, 42))); // 31.x bytes
    CHECK_FALSE(parse_device_public_key(device_public_key_text(raw.substr(0, 31)))); // 31 bytes
    CHECK_FALSE(parse_device_public_key(device_public_key_text(raw + "x"))); // 33 bytes
    CHECK_FALSE(parse_device_public_key("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo")); // standard base64
    CHECK_FALSE(parse_device_public_key(rfc8032_vectors[0].public_key)); // hex
    CHECK_FALSE(parse_device_public_key(x25519_public_pem)); // another algorithm
    CHECK_FALSE(parse_device_public_key(test1_private_pem)); // a private key is not registered
    CHECK_FALSE(parse_device_public_key("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"));
    CHECK_FALSE(parse_device_public_key(std::string(5000, 'A')));
}

TEST_CASE("device keys: a private key goes to PKCS#8 PEM and back, and refuses other texts")
{
    auto const key = device_private_key::generate();
    auto const pem = key.to_pem();
    CHECK(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    auto back = device_private_key::from_pem(pem);
    REQUIRE(back);
    CHECK(back->public_key() == key.public_key());
    CHECK(key.public_key() != device_private_key::generate().public_key());

    auto vector_key = device_private_key::from_pem(test1_private_pem);
    REQUIRE(vector_key);
    CHECK(hex_encode(vector_key->public_key()) == rfc8032_vectors[0].public_key);
    CHECK(vector_key->to_pem() == test1_private_pem);

    CHECK_FALSE(device_private_key::from_pem(""));
    CHECK_FALSE(device_private_key::from_pem(test1_public_pem));
    // Encrypted (passphrase "pass"): refused, and nothing is prompted for on a terminal.
    CHECK_FALSE(device_private_key::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
                                             "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiwN6O5dtsJAQICCAAw\n"
                                             "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEBc1VtJxv86xJpU42kkUD5IEQFZ4\n"
                                             "ZgY7I1hBUAVzYAgBNRhaE2BM2p006jH6W/m4SqsHGfZA1tPwm0iOsI1b+LvQW8oY\n"
                                             "CRr72+U+MM48uZDOe5A=\n"
                                             "-----END ENCRYPTED PRIVATE KEY-----\n"));
    CHECK_FALSE(device_private_key::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
    CHECK_FALSE(device_private_key::from_seed(std::string(31, 'a')));
    CHECK_FALSE(device_private_key::from_seed(std::string(33, 'a')));
}
