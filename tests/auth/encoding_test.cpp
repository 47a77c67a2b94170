#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace relay::auth;

TEST_CASE("base64 encodes the RFC 4648 section 10 vectors")
{
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode_unpadded("foob") == "Zm9vYg");
    CHECK(base64_encode_unpadded("fooba") == "Zm9vYmE");
}

TEST_CASE("base64 decodes the RFC 4648 vectors, with and without padding")
{
    CHECK(base64_decode("") == std::string());
    CHECK(base64_decode("Zg==") == std::string("f"));
    CHECK(base64_decode("Zg") == std::string("f"));
    CHECK(base64_decode("Zm8=") == std::string("fo"));
    CHECK(base64_decode("Zm8") == std::string("fo"));
    CHECK(base64_decode("Zm9v") == std::string("foo"));
    CHECK(base64_decode("Zm9vYmFy") == std::string("foobar"));
}

TEST_CASE("base64 and base64url differ only in the two extra characters")
{
    std::string const bytes("\xfb\xff\xbf", 3);
    CHECK(base64_encode(bytes) == "+/+/");
    CHECK(base64url_encode(bytes) == "-_-_");
    CHECK(base64url_encode("f") == "Zg"); // never padded
    CHECK(base64url_decode("-_-_") == bytes);
    CHECK(base64url_decode("Zg==") == std::string("f")); // padding tolerated
    CHECK(!base64url_decode("+/+/"));
    CHECK(!base64_decode("-_-_"));
}

TEST_CASE("base64 decoders refuse malformed input instead of guessing")
{
    for (char const* bad : {"Z", "Zm9vY", "Zg=", "Zg===", "Z===", "=", "==", "Zm9v=", "Zg==Zg==", "Zg=a", "Z g=",
             " Zg==", "Zg==\n", "Zm9v\n", "Zm9v!", "Zh==", "Zh", "Zm9=", "Zm9"}) {
        CAPTURE(bad);
        CHECK(!base64_decode(bad));
        CHECK(!base64url_decode(bad));
    }
    CHECK(!base64_decode(std::string("Zm\0v", 4)));
}

TEST_CASE("base64 round-trips every length and large inputs across internal chunks")
{
    for (std::size_t n = 0; n < 70; ++n) {
        auto const data = random_bytes(n);
        CHECK(base64_decode(base64_encode(data)) == data);
        CHECK(base64_decode(base64_encode_unpadded(data)) == data);
        CHECK(base64url_decode(base64url_encode(data)) == data);
    }
    auto const big = random_bytes(7 * 1024 * 1024 + 1);
    auto const encoded = base64url_encode(big);
    CHECK(encoded.size() == (big.size() * 4 + 2) / 3);
    CHECK(base64url_decode(encoded) == big);
    CHECK(base64_decode(base64_encode(big)) == big);
}

TEST_CASE("hex")
{
    CHECK(hex_encode("") == "");
    CHECK(hex_encode(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
    CHECK(hex_decode("0001abff") == std::string("\x00\x01\xab\xff", 4));
    CHECK(hex_decode("0001ABFF") == std::string("\x00\x01\xab\xff", 4));
    CHECK(hex_decode("") == std::string());
    CHECK(!hex_decode("abc"));
    CHECK(!hex_decode("zz"));
    CHECK(!hex_decode("0x"));
    CHECK(!hex_decode(" a"));
}
