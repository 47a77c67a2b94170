#include <relay/protocol/codec.hpp>
#include <relay/protocol/forwarding.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

namespace json = boost::json;
using namespace relay::protocol;
using namespace std::chrono;

namespace {
timestamp const when = sys_days{year{2026} / November / 21} + 20h + 15min + 3s + 123ms;
}

TEST_CASE("an app's command reaches the robot with the sender and always with data")
{
    app_command const with_data{"wimz-001", "c1", "start_mission", json::value{{"mission_id", "m-7"}}};
    auto const forwarded = forward_to_robot(with_data, "u-42");
    CHECK(json::parse(encode(forwarded))
          == json::parse(R"({"type":"command","id":"c1","from_user":"u-42","command":"start_mission",)"
                         R"("data":{"mission_id":"m-7"}})"));

    app_command const without_data{"wimz-001", "c2", "stop", std::nullopt};
    CHECK(forward_to_robot(without_data, "u-42").data == json::object());

    app_command const null_data{"wimz-001", "c3", "stop", json::value(nullptr)};
    CHECK(forward_to_robot(null_data, "u-42").data.is_null());
}

TEST_CASE("a robot's event reaches apps with device, seq and time")
{
    robot_event const from_robot{"mission_progress", json::value{{"percent", 40}}, std::string("e1")};
    auto const delivered = forward_to_apps(from_robot, "wimz-001", 42, when);
    CHECK(json::parse(encode(delivered))
          == json::parse(R"({"type":"event","event":"mission_progress","device_id":"wimz-001","seq":42,)"
                         R"("ts":"2026-11-21T20:15:03.123Z","data":{"percent":40}})"));

    robot_event const bare{"docked", std::nullopt, std::nullopt};
    CHECK_FALSE(forward_to_apps(bare, "wimz-001", 43, when).data.has_value());
}

TEST_CASE("presence events have no seq and decode on the app side")
{
    auto const connected = encode(presence_event("wimz-001", true, when));
    CHECK(json::parse(connected)
          == json::parse(R"({"type":"event","event":"robot_connected","device_id":"wimz-001","ts":"2026-11-21T20:15:03.123Z"})"));
    CHECK(decode_app_outbound(connected).ok());
    auto const disconnected = presence_event("wimz-001", false, when);
    CHECK(disconnected.event == "robot_disconnected");
    CHECK(decode_app_outbound(encode(disconnected)).ok());
}

TEST_CASE("results and responses go back to the app with the device id")
{
    robot_command_result const result{"c1", false, std::nullopt, json::value("busy")};
    auto const to_app = forward_to_app(result, "wimz-001");
    CHECK(json::parse(encode(to_app))
          == json::parse(R"({"type":"command_result","id":"c1","device_id":"wimz-001","ok":false,"error":"busy"})"));

    robot_http_response const response{"r1", 200, {{"Content-Type", "image/jpeg"}}, std::nullopt, std::string("AAE=")};
    auto const http = forward_to_app(response, "wimz-001");
    CHECK(json::parse(encode(http))
          == json::parse(R"({"type":"http_response","id":"r1","device_id":"wimz-001","status":200,)"
                         R"("headers":{"Content-Type":"image/jpeg"},"body_b64":"AAE="})"));
}

TEST_CASE("an app's http_request reaches the robot without device_id, with query and headers")
{
    auto const decoded = decode_app_inbound(
        R"({"type":"http_request","device_id":"wimz-001","id":"r1","method":"POST","path":"/missions","body":{"a":1}})");
    REQUIRE(decoded.ok());
    auto const to_robot = forward_to_robot(std::get<app_http_request>(decoded.value()));
    CHECK(json::parse(encode(to_robot))
          == json::parse(R"({"type":"http_request","id":"r1","method":"POST","path":"/missions","query":"",)"
                         R"("headers":{},"body":{"a":1}})"));
    CHECK(decode_device_outbound(encode(to_robot)).ok());
}

TEST_CASE("webrtc_close reaches the other end with a reason and who closed")
{
    CHECK(json::parse(encode(forward_close(webrtc_close{"s1", std::nullopt}, closed_by::app)))
          == json::parse(R"({"type":"webrtc_close","session_id":"s1","reason":"","by":"app"})"));
    CHECK(forward_close(webrtc_close{"s1", std::string("bye")}, closed_by::robot).reason == "bye");
}
