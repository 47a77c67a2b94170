#include <relay/protocol/base64.hpp>

#include <doctest/doctest.h>

#include <random>
#include <string>

using namespace relay::protocol;

namespace {

// Standard base64 with padding optional (PHC strings, keys), as the moved auth cases use it.
std::optional<std::string> base64_decode_lenient(std::string_view text)
{
    return base64_decode(text, base64_padding::optional);
}

// Arbitrary bytes; a fixed seed keeps a failure reproducible.
std::string random_bytes_for_test(std::size_t n)
{
    static std::mt19937 engine(20261203);
    std::string out(n, '\0');
    for (auto& c : out)
        c = static_cast<char>(engine() & 0xff);
    return out;
}

} // namespace

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

// The variants: unpadded, padding optional, and base64url (RFC 4648 section 5).

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
    CHECK(base64_decode_lenient("") == std::string());
    CHECK(base64_decode_lenient("Zg==") == std::string("f"));
    CHECK(base64_decode_lenient("Zg") == std::string("f"));
    CHECK(base64_decode_lenient("Zm8=") == std::string("fo"));
    CHECK(base64_decode_lenient("Zm8") == std::string("fo"));
    CHECK(base64_decode_lenient("Zm9v") == std::string("foo"));
    CHECK(base64_decode_lenient("Zm9vYmFy") == std::string("foobar"));
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
    CHECK(!base64_decode_lenient("-_-_"));
}

TEST_CASE("base64 decoders refuse malformed input instead of guessing")
{
    for (char const* bad : {"Z", "Zm9vY", "Zg=", "Zg===", "Z===", "=", "==", "Zm9v=", "Zg==Zg==", "Zg=a", "Z g=",
             " Zg==", "Zg==\n", "Zm9v\n", "Zm9v!", "Zh==", "Zh", "Zm9=", "Zm9"}) {
        CAPTURE(bad);
        CHECK(!base64_decode_lenient(bad));
        CHECK(!base64url_decode(bad));
    }
    CHECK(!base64_decode_lenient(std::string("Zm\0v", 4)));
}

TEST_CASE("base64 round-trips every length and large inputs across internal chunks")
{
    for (std::size_t n = 0; n < 70; ++n) {
        auto const data = random_bytes_for_test(n);
        CHECK(base64_decode_lenient(base64_encode(data)) == data);
        CHECK(base64_decode_lenient(base64_encode_unpadded(data)) == data);
        CHECK(base64url_decode(base64url_encode(data)) == data);
    }
    auto const big = random_bytes_for_test(7 * 1024 * 1024 + 1);
    auto const encoded = base64url_encode(big);
    CHECK(encoded.size() == (big.size() * 4 + 2) / 3);
    CHECK(base64url_decode(encoded) == big);
    CHECK(base64_decode_lenient(base64_encode(big)) == big);
}
