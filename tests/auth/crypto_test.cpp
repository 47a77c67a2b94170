#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/protocol/base64.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace relay::auth;
using relay::protocol::base64url_decode;

TEST_CASE("sha256 matches the FIPS 180-2 examples")
{
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256("abc").size() == 32);
    CHECK(hex_encode(sha256("abc")) == sha256_hex("abc"));
}

TEST_CASE("hmac_sha256 matches RFC 4231")
{
    // Test case 1
    CHECK(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There"))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // Test case 2: a key shorter than the block
    CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?"))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: a key longer than the block is hashed first
    CHECK(hex_encode(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"))
        == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    // Empty key and message are legal HMAC inputs.
    CHECK(hex_encode(hmac_sha256("", "")) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("random_bytes and random_token")
{
    CHECK(random_bytes(0).empty());
    CHECK(random_bytes(1).size() == 1);
    CHECK(random_bytes(1000).size() == 1000);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i)
        seen.insert(random_bytes(16));
    CHECK(seen.size() == 100);

    auto const token = random_token(32);
    CHECK(token.size() == 43);
    CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
    CHECK(base64url_decode(token)->size() == 32);
    CHECK(random_token(16) != random_token(16));
}

TEST_CASE("random ids are prefixed, 128-bit hex and distinct")
{
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto id = random_id("f_");
        REQUIRE(id);
        CHECK(id->size() == 34);
        CHECK(id->starts_with("f_"));
        CHECK(id->find_first_not_of("0123456789abcdef", 2) == std::string::npos);
        seen.insert(*id);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("constant_time_equal")
{
    CHECK(constant_time_equal("", ""));
    CHECK(constant_time_equal("abc", "abc"));
    CHECK(!constant_time_equal("abc", "abd"));
    CHECK(!constant_time_equal("abc", "ab"));
    CHECK(!constant_time_equal("", "a"));
    CHECK(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
    CHECK(!constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}
