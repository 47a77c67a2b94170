#include <relay/protocol/errc.hpp>

#include <doctest/doctest.h>

TEST_CASE("every error code has a unique wire name that maps back to it")
{
    for (int i = static_cast<int>(relay::errc::bad_json); i <= static_cast<int>(relay::errc::unavailable); ++i) {
        auto code = static_cast<relay::errc>(i);
        auto name = relay::wire_name(code);
        CAPTURE(name);
        REQUIRE(relay::errc_from_wire_name(name) == code);
        CHECK(relay::http_status(code) >= 400);
        CHECK(!relay::default_message(code).empty());
    }
    CHECK(!relay::errc_from_wire_name("NOPE"));
}

TEST_CASE("contract statuses")
{
    CHECK(relay::http_status(relay::errc::device_offline) == 503);
    CHECK(relay::http_status(relay::errc::device_timeout) == 504);
    CHECK(relay::http_status(relay::errc::path_not_allowed) == 403);
    CHECK(relay::http_status(relay::errc::body_too_large) == 413);
    CHECK(relay::http_status(relay::errc::email_taken) == 409);
    boost::system::error_code ec = relay::errc::forbidden;
    CHECK(ec.category().name() == std::string("relay"));
    CHECK(ec.message() == relay::default_message(relay::errc::forbidden));
}
