#include <relay/protocol/validation.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace relay::protocol;

TEST_CASE("device ids: [A-Za-z0-9._-]{1,64}, but not . or ..")
{
    CHECK(is_valid_device_id("wimz-001"));
    CHECK(is_valid_device_id("A.b_C-9"));
    CHECK(is_valid_device_id(std::string(64, 'd')));
    CHECK_FALSE(is_valid_device_id(std::string(65, 'd')));
    CHECK_FALSE(is_valid_device_id(""));
    CHECK_FALSE(is_valid_device_id("wimz 001"));
    CHECK_FALSE(is_valid_device_id("wimz/001"));
    CHECK_FALSE(is_valid_device_id("wimz%2F001"));
    CHECK_FALSE(is_valid_device_id("wïmz"));
    CHECK_FALSE(is_valid_device_id(std::string_view("a\0b", 3)));
    // As URL path segments these mean "here" and "up": /api/devices/.. is not a device.
    CHECK_FALSE(is_valid_device_id("."));
    CHECK_FALSE(is_valid_device_id(".."));
    CHECK(is_valid_device_id("..."));
    CHECK(is_valid_device_id(".a"));
    CHECK(is_valid_device_id("a.."));
}

TEST_CASE("device names: 1 to 128 bytes, not blank, no control characters or direction marks")
{
    CHECK(is_valid_device_name("Kitchen"));
    CHECK(is_valid_device_name("Küche 2 — étage"));
    CHECK(is_valid_device_name("\u30ed\u30dc\u30c3\u30c8")); // ロボット
    CHECK(is_valid_device_name("\u05e8\u05d5\u05d1\u05d5\u05d8")); // right-to-left text itself is fine
    CHECK(is_valid_device_name(std::string(128, 'n')));
    CHECK_FALSE(is_valid_device_name(std::string(129, 'n')));
    CHECK_FALSE(is_valid_device_name(""));
    CHECK_FALSE(is_valid_device_name("   "));
    CHECK_FALSE(is_valid_device_name("a\tb"));
    CHECK_FALSE(is_valid_device_name("a\nb"));
    CHECK_FALSE(is_valid_device_name("a\x7f"));
    CHECK_FALSE(is_valid_device_name(std::string_view("a\0b", 3)));
    CHECK_FALSE(is_valid_device_name("a\u0085b")); // C1: next line
    CHECK_FALSE(is_valid_device_name("a\u009fb"));
    CHECK(is_valid_device_name("a\u00a0b")); // no-break space: printable
    // Every direction mark and override, each alone in an otherwise fine name.
    for (char32_t cp : {0x061Cu, 0x200Eu, 0x200Fu, 0x202Au, 0x202Bu, 0x202Cu, 0x202Du, 0x202Eu, 0x2066u, 0x2067u,
                        0x2068u, 0x2069u}) {
        std::string name = "robot ";
        if (cp < 0x800) {
            name += static_cast<char>(0xC0 | (cp >> 6));
        } else {
            name += static_cast<char>(0xE0 | (cp >> 12));
            name += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        }
        name += static_cast<char>(0x80 | (cp & 0x3F));
        name += "1";
        CAPTURE(static_cast<unsigned>(cp));
        CHECK_FALSE(is_valid_device_name(name));
    }
    // Neighbours of the refused ranges are ordinary punctuation.
    CHECK(is_valid_device_name("a\u2010b")); // hyphen
    CHECK(is_valid_device_name("a\u2030b")); // per mille
    CHECK(is_valid_device_name("a\u2065b")); // unassigned, but not a direction mark
}

TEST_CASE("event names: [a-z0-9_.-]{1,64}")
{
    CHECK(is_valid_event_name("mission_progress"));
    CHECK(is_valid_event_name("battery.low-2"));
    CHECK(is_valid_event_name(std::string(64, 'e')));
    CHECK_FALSE(is_valid_event_name(std::string(65, 'e')));
    CHECK_FALSE(is_valid_event_name(""));
    CHECK_FALSE(is_valid_event_name("Mission"));
    CHECK_FALSE(is_valid_event_name("mission start"));
    CHECK(is_presence_event("robot_connected"));
    CHECK(is_presence_event("robot_disconnected"));
    CHECK_FALSE(is_presence_event("robot_connected2"));
}

TEST_CASE("message ids and session ids")
{
    CHECK(is_valid_message_id("c1"));
    CHECK(is_valid_message_id("befehl-ü 1"));
    CHECK(is_valid_message_id(std::string(max_id_length, 'x')));
    CHECK_FALSE(is_valid_message_id(std::string(max_id_length + 1, 'x')));
    CHECK_FALSE(is_valid_message_id(""));
    CHECK_FALSE(is_valid_message_id("a\nb"));
    CHECK_FALSE(is_valid_message_id("a\x7f"));

    CHECK(is_valid_session_id("s-7f3a9c2e41d0"));
    CHECK(is_valid_session_id("Zm9v_YmFy-"));
    CHECK_FALSE(is_valid_session_id("s 1"));
    CHECK_FALSE(is_valid_session_id("Zm9v+YmFy/"));
    CHECK_FALSE(is_valid_session_id(std::string(max_id_length + 1, 's')));
}

TEST_CASE("tunnelled HTTP: method, path, query, headers")
{
    CHECK(is_valid_http_method("GET"));
    CHECK(is_valid_http_method("PATCH"));
    CHECK(is_valid_http_method("M-SEARCH"));
    CHECK_FALSE(is_valid_http_method(""));
    CHECK_FALSE(is_valid_http_method("GE T"));
    CHECK_FALSE(is_valid_http_method("GET\r\n"));
    CHECK_FALSE(is_valid_http_method(std::string(33, 'A')));

    CHECK(is_valid_http_path("/"));
    CHECK(is_valid_http_path("/missions/m-7/steps%201"));
    CHECK_FALSE(is_valid_http_path(""));
    CHECK_FALSE(is_valid_http_path("missions"));
    CHECK_FALSE(is_valid_http_path("/a b"));
    CHECK_FALSE(is_valid_http_path("/a?b=1"));
    CHECK_FALSE(is_valid_http_path("/a#b"));
    CHECK_FALSE(is_valid_http_path("/a\r\nHost: x"));
    CHECK_FALSE(is_valid_http_path("/" + std::string(2048, 'a')));

    CHECK(is_valid_http_query(""));
    CHECK(is_valid_http_query("from=2026-11-01&limit=10&q=a%20b"));
    CHECK_FALSE(is_valid_http_query("a=1 2"));
    CHECK_FALSE(is_valid_http_query("a=1#x"));
    CHECK_FALSE(is_valid_http_query("a=\n"));

    CHECK(is_valid_http_header_name("Content-Type"));
    CHECK(is_valid_http_header_name("x-trace_id"));
    CHECK_FALSE(is_valid_http_header_name(""));
    CHECK_FALSE(is_valid_http_header_name("Bad Header"));
    CHECK_FALSE(is_valid_http_header_name("Host:"));

    CHECK(is_valid_http_header_value(""));
    CHECK(is_valid_http_header_value("text/html; charset=utf-8"));
    CHECK(is_valid_http_header_value("a\tb"));
    CHECK(is_valid_http_header_value("caf\xc3\xa9"));
    CHECK_FALSE(is_valid_http_header_value("a\r\nSet-Cookie: x"));
    CHECK_FALSE(is_valid_http_header_value(std::string_view("a\0b", 3)));
}

TEST_CASE("tunnelled HTTP: a robot's answer is final, and 204 and 304 have no body")
{
    // 1xx are interim: relayed as the answer, 101 would switch a proxy into a raw tunnel.
    for (unsigned status : {0u, 99u, 100u, 101u, 103u, 199u, 600u, 999u, 1000u}) {
        CAPTURE(status);
        CHECK_FALSE(is_valid_http_response_status(status));
    }
    for (unsigned status : {200u, 204u, 301u, 304u, 404u, 502u, 599u}) {
        CAPTURE(status);
        CHECK(is_valid_http_response_status(status));
    }
    CHECK_FALSE(http_status_allows_body(204));
    CHECK_FALSE(http_status_allows_body(304));
    CHECK(http_status_allows_body(200));
    CHECK(http_status_allows_body(205));
    CHECK(http_status_allows_body(404));
}

TEST_CASE("parse_port: 1 to 65535 in decimal, nothing else")
{
    CHECK(parse_port("1") == std::uint16_t{1});
    CHECK(parse_port("443") == std::uint16_t{443});
    CHECK(parse_port("08080") == std::uint16_t{8080});
    CHECK(parse_port("65535") == std::uint16_t{65535});
    // 99999 and 65536 are where a 16-bit accumulator wraps around (Boost.URL 1.81 does).
    for (auto const* bad : {"", "0", "00000", "65536", "99999", "100000", "-1", "+80", "80x", " 80", "0x50"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_port(bad).has_value());
    }
}
