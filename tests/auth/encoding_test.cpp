#include <relay/auth/encoding.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace relay::auth;

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
