// Percent-decoding and query parameters (Boost.URL underneath): what relayd accepts from a
// request target, and what it refuses.
#include "server/http/http_util.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace relay::server;

TEST_CASE("percent_decode: escapes of either case, '+' as space only when asked")
{
    CHECK(percent_decode("a%20b", false) == std::string("a b"));
    CHECK(percent_decode("%2f%2F", false) == std::string("//"));
    CHECK(percent_decode("caf%C3%A9", false) == std::string("caf\xC3\xA9"));
    CHECK(percent_decode("a+b", false) == std::string("a+b"));
    CHECK(percent_decode("a+b", true) == std::string("a b"));
    CHECK(percent_decode("%2B", true) == std::string("+"));
    CHECK(percent_decode("", false) == std::string());
    // A NUL byte decodes as one; callers' validation refuses it where it matters.
    CHECK(percent_decode("%00", false) == std::string(1, '\0'));
}

TEST_CASE("percent_decode: malformed escapes are refused, never guessed")
{
    for (auto const* bad : {"%", "%4", "%zz", "%G0", "a%", "a%2", "%%41", "%4-"}) {
        CAPTURE(bad);
        CHECK_FALSE(percent_decode(bad, false).has_value());
        CHECK_FALSE(percent_decode(bad, true).has_value());
    }
}

TEST_CASE("query_param: the first value of a name, decoded as a form value")
{
    CHECK(query_param("device_id=tbot", "device_id") == std::string("tbot"));
    CHECK(query_param("a=1&device_id=x%20y&b=2", "device_id") == std::string("x y"));
    CHECK(query_param("token=a+b", "token") == std::string("a b"));
    CHECK(query_param("token=a%2Bb", "token") == std::string("a+b"));
    CHECK(query_param("token=1&token=2", "token") == std::string("1"));
    CHECK(query_param("token", "token") == std::string()); // present without a value
    CHECK(query_param("token=", "token") == std::string());
    CHECK(query_param("token=a=b", "token") == std::string("a=b"));
}

TEST_CASE("query_param: a query that is a view into a longer buffer ends where the view ends")
{
    // A request target's query is a view into Beast's header buffer, followed by more bytes and
    // no NUL; Boost.URL 1.81's parse_query alone would read on to the next NUL.
    std::string const buffer = "token=abc.def HTTP/1.1\r\nHost: x\r\n";
    std::string_view const query(buffer.data(), std::string_view("token=abc.def").size());
    CHECK(query_param(query, "token") == std::string("abc.def"));
    std::string const two = "a=1&token=xyz&b=2&token=9";
    CHECK(query_param(std::string_view(two.data(), 13), "token") == std::string("xyz"));
    CHECK(query_param(std::string_view(two.data(), 17), "b") == std::string("2"));
}

TEST_CASE("query_param: absent names and bad escapes give nothing")
{
    CHECK_FALSE(query_param("", "token").has_value());
    CHECK_FALSE(query_param("tokens=1&xtoken=2", "token").has_value());
    CHECK_FALSE(query_param("Token=1", "token").has_value()); // names are case-sensitive
    CHECK_FALSE(query_param("token=%zz", "token").has_value());
    CHECK_FALSE(query_param("token=%4", "token").has_value());
}
