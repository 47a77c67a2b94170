#include <relay/auth/email.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace relay::auth;

TEST_CASE("normalize_email trims and lowercases")
{
    struct example {
        char const* given;
        char const* normalized;
    };
    for (auto [given, normalized] : {
             example{"  Ann.Smith@Example.COM \t\n", "ann.smith@example.com"},
             example{"bob@example.com", "bob@example.com"},
             example{"", ""},
             example{"   ", ""},
             // Non-ASCII bytes are left alone (no locale-dependent case mapping).
             example{"J\xc3\x9c@Example.de", "j\xc3\x9c@example.de"},
             example{"A B@C.D", "a b@c.d"}, // inner spaces stay, and make it invalid
         }) {
        CAPTURE(given);
        CHECK(normalize_email(given) == normalized);
    }
}

TEST_CASE("is_valid_email accepts ordinary addresses")
{
    for (char const* good : {"a@b.co", "ann.smith@example.com", "ann+relay@mail.example.co.uk", "o'neil@example.ie",
             "user_1-x@sub-domain.example.org", "j\xc3\xbcrgen@m\xc3\xbcnchen.de", "x@xn--mnchen-3ya.de"}) {
        CAPTURE(good);
        CHECK(is_valid_email(good));
    }
}

TEST_CASE("is_valid_email refuses what is not a plain address")
{
    for (char const* bad : {"", "@", "a@", "@b.co", "ab.co", "a@@b.co", "a@b@c.co", "a@localhost", "a@.b.co",
             "a@b.co.", "a@b..co", "a b@c.co", "a@b c.co", " a@b.co", "a@b.co ", "a\t@b.co", "a\n@b.co",
             "\"a\"@b.co", "a@[127.0.0.1]", "a<b@c.co", "a@b_c.co", "a@b!.co", "a,b@c.co", "a;b@c.co",
             "a(b)@c.co", "a\\b@c.co", "a@b.co\x7f", "a\xff@b.co", "a\xc3@b.co"}) {
        CAPTURE(bad);
        CHECK(!is_valid_email(bad));
    }
    CHECK(!is_valid_email(std::string("a\0b@c.co", 8)));
}

TEST_CASE("is_valid_email length limits")
{
    std::string const local64(64, 'l');
    CHECK(is_valid_email(local64 + "@example.com"));
    CHECK(!is_valid_email(local64 + "l@example.com"));
    // 254 bytes in total is the most.
    std::string const domain = std::string(254 - 3 - 4, 'd') + ".com";
    CHECK(is_valid_email("ab@" + domain.substr(1)));
    CHECK((std::string("ab@") + domain.substr(1)).size() == 253);
    CHECK(is_valid_email("abc@" + domain.substr(1)));
    CHECK(!is_valid_email("abcd@" + domain.substr(1)));
}
