#include <relay/protocol/validation.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace relay::protocol;

TEST_CASE("device ids: [A-Za-z0-9._-]{1,64}")
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
