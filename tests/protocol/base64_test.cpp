#include <relay/protocol/base64.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace relay::protocol;

TEST_CASE("base64: the RFC 4648 test vectors")
{
    std::pair<char const*, char const*> const vectors[] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (auto const& [plain, encoded] : vectors) {
        CAPTURE(plain);
        CHECK(base64_encode(plain) == encoded);
        CHECK(is_valid_base64(encoded));
        CHECK(base64_decode(encoded) == std::string(plain));
    }
}

TEST_CASE("base64: every byte value round-trips")
{
    std::string bytes;
    for (int i = 0; i < 256; ++i)
        bytes.push_back(static_cast<char>(i));
    for (std::size_t n = 0; n <= bytes.size(); n += 37) {
        auto const part = bytes.substr(0, n);
        auto const encoded = base64_encode(part);
        CHECK(encoded.size() % 4 == 0);
        CHECK(base64_decode(encoded) == part);
    }
    CHECK(base64_encode("\xff\xfe") == "//4=");
    CHECK(base64_encode("\xfb\xff") == "+/8=");
}

TEST_CASE("base64: what is not padded standard base64")
{
    for (auto const* text : {"Zg", "Zg=", "Zm9", "Z===", "Zg==Zg==", "Zm9v YmFy", "Zm9v\n", "Zm9-", "Zm9_",
                             "=Zm9", "Zm=v", "Zh==", "Zm9=", "Zm8=====", "!!!!"}) {
        CAPTURE(text);
        CHECK_FALSE(is_valid_base64(text));
        CHECK_FALSE(base64_decode(text).has_value());
    }
}
