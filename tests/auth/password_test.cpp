#include <relay/auth/encoding.hpp>
#include <relay/auth/password.hpp>
#include <relay/protocol/base64.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace relay::auth;
using relay::protocol::base64_decode;
using relay::protocol::base64_encode_unpadded;
using relay::protocol::base64_padding;

namespace {

// Cheap parameters for tests (1 MiB); production uses the defaults.
constexpr scrypt_params cheap{10, 8, 1};

std::string phc(std::string_view params, std::string_view salt, std::string_view hash_hex)
{
    return "$scrypt$" + std::string(params) + "$" + base64_encode_unpadded(salt) + "$"
        + base64_encode_unpadded(*hex_decode(hash_hex));
}

} // namespace

TEST_CASE("hash produces a PHC scrypt string that verifies")
{
    password_hasher const hasher(cheap);
    auto const encoded = hasher.hash("correct horse battery staple");
    CHECK(encoded.rfind("$scrypt$ln=10,r=8,p=1$", 0) == 0);
    auto const fields = std::string_view(encoded).substr(std::string_view("$scrypt$ln=10,r=8,p=1$").size());
    auto const dollar = fields.find('$');
    REQUIRE(dollar != std::string_view::npos);
    CHECK(base64_decode(fields.substr(0, dollar), base64_padding::optional)->size() == password_hasher::salt_bytes);
    CHECK(base64_decode(fields.substr(dollar + 1), base64_padding::optional)->size() == password_hasher::hash_bytes);
    CHECK(fields.find('=') == std::string_view::npos); // PHC: no base64 padding

    auto const good = hasher.verify("correct horse battery staple", encoded);
    CHECK(good.ok);
    CHECK(!good.needs_rehash);
    auto const bad = hasher.verify("correct horse battery stapler", encoded);
    CHECK(!bad.ok);
    CHECK(!bad.needs_rehash);
    CHECK(!hasher.verify("", encoded).ok);
    // A fresh salt each time.
    CHECK(hasher.hash("correct horse battery staple") != encoded);
}

TEST_CASE("the default parameters (ln=15, r=8, p=1) work within OpenSSL's memory limit")
{
    password_hasher const hasher;
    CHECK(hasher.params() == scrypt_params{15, 8, 1});
    auto const encoded = hasher.hash("a long enough password");
    CHECK(encoded.rfind("$scrypt$ln=15,r=8,p=1$", 0) == 0);
    CHECK(hasher.verify("a long enough password", encoded).ok);
}

TEST_CASE("verify accepts the RFC 7914 section 12 test vectors")
{
    password_hasher const hasher(cheap);
    auto const v2 = phc("ln=10,r=8,p=16", "NaCl",
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360"
        "cbdfa2cc0640");
    CHECK(hasher.verify("password", v2).ok);
    CHECK(!hasher.verify("Password", v2).ok);
    // Stronger p than ours, but a 4-byte salt: worth replacing on next login.
    CHECK(hasher.verify("password", v2).needs_rehash);

    auto const v3 = phc("ln=14,r=8,p=1", "SodiumChloride",
        "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf"
        "017b45575887");
    CHECK(hasher.verify("pleaseletmein", v3).ok);
    CHECK(!hasher.verify("pleaseletmeout", v3).ok);
}

TEST_CASE("needs_rehash when the stored parameters are weaker than the current ones")
{
    password_hasher const old_hasher(cheap);
    auto const old_hash = old_hasher.hash("hunter2hunter2");

    auto const upgraded = password_hasher({11, 8, 1}).verify("hunter2hunter2", old_hash);
    CHECK(upgraded.ok);
    CHECK(upgraded.needs_rehash);
    CHECK(password_hasher({10, 9, 1}).verify("hunter2hunter2", old_hash).needs_rehash);
    CHECK(password_hasher({10, 8, 2}).verify("hunter2hunter2", old_hash).needs_rehash);
    // Same or stronger stored parameters need nothing.
    CHECK(!old_hasher.verify("hunter2hunter2", old_hash).needs_rehash);
    CHECK(!password_hasher({9, 8, 1}).verify("hunter2hunter2", old_hash).needs_rehash);
    // Never a hint for a wrong password.
    auto const wrong = password_hasher({11, 8, 1}).verify("hunter3hunter3", old_hash);
    CHECK(!wrong.ok);
    CHECK(!wrong.needs_rehash);
}

TEST_CASE("malformed or hostile encoded strings verify false without crashing")
{
    password_hasher const hasher(cheap);
    auto const good = hasher.hash("the password 1");
    REQUIRE(hasher.verify("the password 1", good).ok);
    auto const salt_and_hash = good.substr(std::string_view("$scrypt$ln=10,r=8,p=1").size());
    auto tampered = good;
    auto& first_of_hash = tampered[good.rfind('$') + 1];
    first_of_hash = first_of_hash == 'A' ? 'B' : 'A';

    for (std::string const& bad : {
             std::string(),
             std::string("$scrypt$"),
             std::string("scrypt"),
             std::string("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"),
             "$scrypt$ln=10,r=8" + salt_and_hash,
             "$scrypt$ln=10,p=1,r=8" + salt_and_hash,
             "$scrypt$r=8,ln=10,p=1" + salt_and_hash,
             "$scrypt$ln=10,r=8,p=1,x=2" + salt_and_hash,
             "$scrypt$ln=abc,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=010,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=-10,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=+10,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=0,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=10,r=0,p=1" + salt_and_hash,
             "$scrypt$ln=10,r=8,p=0" + salt_and_hash,
             "$scrypt$ln=99999999999999999999,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=4294967306,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=63,r=8,p=1" + salt_and_hash,
             "$scrypt$ln=16,r=1,p=1" + salt_and_hash,    // N must be below 2^(16·r)
             "$scrypt$ln=20,r=32,p=1" + salt_and_hash,   // 4 GiB: refused, not attempted
             "$scrypt$ln=10,r=8,p=1000" + salt_and_hash, // CPU bomb
             "$SCRYPT$ln=10,r=8,p=1" + salt_and_hash,
             " " + good,
             good + "$",
             good + "=",
             good + "A",
             // One character of the hash changed. (Not "one character cut off": one time in 16
             // that still decodes, to the first 31 bytes of the right key, which a hash of that
             // length legitimately is.)
             tampered,
             good.substr(0, good.rfind('$')),
             good.substr(0, good.rfind('$') + 1),
             "$scrypt$ln=10,r=8,p=1$$" + good.substr(good.rfind('$') + 1),
             "$scrypt$ln=10,r=8,p=1$!!!!$" + good.substr(good.rfind('$') + 1),
             "$scrypt$ln=10,r=8,p=1$c2FsdA==$" + good.substr(good.rfind('$') + 1),
             std::string("$scrypt$ln=10,r=8,p=1$c2FsdA$c2hvcnQ"), // hash far too short
         }) {
        CAPTURE(bad);
        auto const v = hasher.verify("the password 1", bad);
        CHECK(!v.ok);
        CHECK(!v.needs_rehash);
    }
}

TEST_CASE("verify refuses overlong passwords; the hasher refuses unsupported parameters")
{
    password_hasher const hasher(cheap);
    std::string const longest(max_password_bytes, 'p');
    auto const encoded = hasher.hash(longest);
    CHECK(hasher.verify(longest, encoded).ok);
    CHECK(!hasher.verify(longest + "p", hasher.hash(longest + "p")).ok);

    CHECK_THROWS_AS(password_hasher({0, 8, 1}), std::invalid_argument);
    CHECK_THROWS_AS(password_hasher({21, 8, 1}), std::invalid_argument);
    CHECK_THROWS_AS(password_hasher({16, 1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(password_hasher({10, 0, 1}), std::invalid_argument);
    CHECK_THROWS_AS(password_hasher({10, 8, 0}), std::invalid_argument);
    CHECK_THROWS_AS(password_hasher({10, 8, 17}), std::invalid_argument);
    CHECK_THROWS_AS(password_hasher({20, 32, 1}), std::invalid_argument);
    CHECK_NOTHROW(password_hasher({20, 8, 1}));
}

TEST_CASE("password policy counts characters, not bytes, and bounds the length")
{
    CHECK(!check_password_policy("0123456789"));
    CHECK(!check_password_policy("correct horse battery staple"));

    auto const short_one = check_password_policy("012345678");
    REQUIRE(short_one);
    CHECK(short_one->code == relay::errc::weak_password);
    CHECK(short_one->message == "the password must be at least 10 characters long");
    CHECK(check_password_policy(""));

    // 10 code points in 14 bytes: long enough.
    CHECK(!check_password_policy("\xc3\xbcn\xc3\xaf""c\xc3\xb6""d\xc3\xa9""123"));
    // 9 code points in 27 bytes: too short although 27 bytes.
    CHECK(check_password_policy("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5"
                                "\xe6\x9c\xac\xe8\xaa\x9e"));
    // 10 emoji (4 bytes each) are 10 characters.
    std::string emoji;
    for (int i = 0; i < 10; ++i)
        emoji += "\xf0\x9f\x98\x80";
    CHECK(!check_password_policy(emoji));

    CHECK(!check_password_policy(std::string(max_password_bytes, 'a')));
    auto const too_long = check_password_policy(std::string(max_password_bytes + 1, 'a'));
    REQUIRE(too_long);
    CHECK(too_long->code == relay::errc::weak_password);
    CHECK(too_long->message == "the password must be at most 1024 bytes long");

    for (std::string const& invalid : {std::string("0123456789\xff"), std::string("0123456789\xc3"),
             std::string("0123456789\xc0\xaf"), std::string("0123456789\xed\xa0\x80"),
             std::string("0123456789\xf4\x90\x80\x80")}) {
        auto const v = check_password_policy(invalid);
        REQUIRE(v);
        CHECK(v->code == relay::errc::weak_password);
        CHECK(v->message == "the password must be valid UTF-8 text");
    }
}

TEST_CASE("password policy refuses NUL characters, alone or among others")
{
    for (std::string const& with_nul : {std::string(10, '\0'), std::string(20, '\0'),
             std::string("correct horse\0battery", 22), std::string("0123456789\0", 11)}) {
        auto const v = check_password_policy(with_nul);
        REQUIRE(v);
        CHECK(v->code == relay::errc::weak_password);
        CHECK(v->message == "the password must not contain NUL characters");
    }
}
