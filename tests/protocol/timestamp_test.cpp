#include <relay/protocol/timestamp.hpp>

#include <doctest/doctest.h>

using namespace relay::protocol;
using namespace std::chrono;

TEST_CASE("format_timestamp: ISO-8601 UTC with milliseconds and Z")
{
    timestamp const t = sys_days{year{2026} / November / 21} + 20h + 15min + 3s + 123ms;
    CHECK(format_timestamp(t) == "2026-11-21T20:15:03.123Z");
    CHECK(format_timestamp(timestamp{}) == "1970-01-01T00:00:00.000Z");
    // Sub-millisecond parts are cut, never rounded up into the next millisecond.
    CHECK(format_timestamp(t + 999us) == "2026-11-21T20:15:03.123Z");
    CHECK(format_timestamp(sys_days{year{2024} / February / 29} + 23h + 59min + 59s + 999ms)
          == "2024-02-29T23:59:59.999Z");
    // Before 1970 the floor still goes to the earlier millisecond.
    CHECK(format_timestamp(timestamp{} - 1us) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("parse_timestamp accepts what format_timestamp writes, and a fraction of 0 to 9 digits")
{
    timestamp const t = sys_days{year{2026} / November / 21} + 20h + 15min + 3s + 123ms;
    CHECK(parse_timestamp("2026-11-21T20:15:03.123Z") == t);
    CHECK(parse_timestamp(format_timestamp(t)) == t);
    CHECK(parse_timestamp("2026-11-21T20:15:03Z") == t - 123ms);
    CHECK(parse_timestamp("2026-11-21T20:15:03.1Z") == t - 23ms);
    CHECK(parse_timestamp("2026-11-21T20:15:03.123999999Z") == t);
    CHECK(parse_timestamp("2024-02-29T00:00:00.000Z").has_value());
    CHECK(parse_timestamp("1900-01-01T00:00:00.000Z").has_value());
    CHECK(parse_timestamp("2200-12-31T23:59:59.999Z").has_value());
}

TEST_CASE("parse_timestamp rejects everything else")
{
    for (auto const* text : {"", "2026-11-21", "2026-11-21T20:15:03.123", "2026-11-21T20:15:03.123z",
                             "2026-11-21t20:15:03.123Z", "2026-11-21 20:15:03.123Z", "2026-11-21T20:15:03.Z",
                             "2026-11-21T20:15:03.1234567890Z", "2026-11-21T20:15:03,123Z",
                             "2026-11-21T20:15:03.123+00:00", "2026-13-01T00:00:00.000Z", "2026-02-29T00:00:00.000Z",
                             "2026-11-31T00:00:00.000Z", "2026-11-21T24:00:00.000Z", "2026-11-21T23:60:00.000Z",
                             "2026-11-21T23:59:60.000Z", "1899-12-31T23:59:59.999Z", "2201-01-01T00:00:00.000Z",
                             "+2026-11-21T20:15:03Z", "2026-1-21T20:15:03.123Z", "20261121T201503Z",
                             "2026-11-21T20:15:03.12a3Z", "abcd-ef-ghTij:kl:mn.opqZ"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_timestamp(text).has_value());
    }
}
