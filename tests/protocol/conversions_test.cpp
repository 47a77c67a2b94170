// The tag_invoke pairs and enums, used directly as the server and SDK will (value_from,
// try_value_to, value_to) rather than through the codec.
#include <relay/protocol/app_inbound.hpp>
#include <relay/protocol/app_outbound.hpp>
#include <relay/protocol/device_inbound.hpp>
#include <relay/protocol/device_outbound.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <limits>

namespace json = boost::json;
using namespace relay::protocol;
using namespace std::chrono;

namespace {

template <class E, std::size_t N> void check_enum(std::array<std::pair<E, char const*>, N> const& names)
{
    for (auto const& [value, name] : names) {
        CAPTURE(name);
        CHECK(to_string(value) == name);
        CHECK(from_string<E>(name) == value);
    }
    CHECK_FALSE(from_string<E>("").has_value());
    CHECK_FALSE(from_string<E>("nope").has_value());
}

} // namespace

TEST_CASE("enums: wire names both ways")
{
    check_enum<role, 3>({{{role::viewer, "viewer"}, {role::operator_, "operator"}, {role::owner, "owner"}}});
    check_enum<media, 3>({{{media::video, "video"}, {media::audio, "audio"}, {media::both, "both"}}});
    check_enum<quality, 4>(
        {{{quality::low, "low"}, {quality::medium, "medium"}, {quality::high, "high"}, {quality::auto_, "auto"}}});
    check_enum<closed_by, 3>({{{closed_by::app, "app"}, {closed_by::robot, "robot"}, {closed_by::relay, "relay"}}});
    check_enum<connection_type, 4>({{{connection_type::host, "host"},
                                     {connection_type::srflx, "srflx"},
                                     {connection_type::prflx, "prflx"},
                                     {connection_type::relay, "relay"}}});
    check_enum<stats_state, 2>({{{stats_state::connected, "connected"}, {stats_state::failed, "failed"}}});
    check_enum<sdp_type, 4>({{{sdp_type::offer, "offer"},
                              {sdp_type::pranswer, "pranswer"},
                              {sdp_type::answer, "answer"},
                              {sdp_type::rollback, "rollback"}}});
    CHECK_FALSE(from_string<role>("Owner").has_value());
    CHECK_FALSE(from_string<quality>("auto_").has_value());
}

TEST_CASE("roles are ordered: owner > operator > viewer")
{
    CHECK(role::owner > role::operator_);
    CHECK(role::operator_ > role::viewer);
    CHECK(role_allows(role::owner, role::operator_));
    CHECK(role_allows(role::operator_, role::operator_));
    CHECK(role_allows(role::operator_, role::viewer));
    CHECK_FALSE(role_allows(role::viewer, role::operator_));
    CHECK_FALSE(role_allows(role::operator_, role::owner));
}

TEST_CASE("value_from writes the whole message, type first")
{
    event e{"mission_progress", "wimz-001", 42, sys_days{year{2026} / November / 21} + 20h + 15min + 3s + 123ms,
            json::value{{"percent", 40}}};
    json::value const jv = json::value_from(e);
    CHECK(json::serialize(jv)
          == R"({"type":"event","event":"mission_progress","device_id":"wimz-001","seq":42,)"
             R"("ts":"2026-11-21T20:15:03.123Z","data":{"percent":40}})");

    // Optional fields that are empty are left out, nullable ones are null.
    webrtc_ice ice{"s1", ice_candidate{"candidate:1 1 udp 1 1.2.3.4 5 typ host", std::nullopt, std::nullopt, {}}};
    CHECK(json::serialize(json::value_from(ice))
          == R"({"type":"webrtc_ice","session_id":"s1","candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host",)"
             R"("sdpMid":null,"sdpMLineIndex":null}})");
    CHECK(json::serialize(json::value_from(webrtc_ice{"s1", std::nullopt}))
          == R"({"type":"webrtc_ice","session_id":"s1","candidate":null})");

    // Nested objects have no message type of their own.
    CHECK(json::serialize(json::value_from(session_description{sdp_type::answer, "v=0"}))
          == R"({"type":"answer","sdp":"v=0"})");
    CHECK(json::serialize(json::value_from(ice_server{{"stun:stun.example.com"}, std::nullopt, std::nullopt}))
          == R"({"urls":["stun:stun.example.com"]})");
}

TEST_CASE("value_from keeps payloads apart from the message's allocator")
{
    json::monotonic_resource resource;
    app_command c{"wimz-001", "c1", "go", json::value{{"speed", 0.5}}};
    json::value const jv = json::value_from(c, &resource);
    CHECK(jv.storage().get() == &resource);
    CHECK(jv.at("data").storage().get() == &resource);
    CHECK(c.data->storage().get() != &resource);
}

TEST_CASE("try_value_to checks fields and never throws")
{
    auto ok = json::try_value_to<app_command>(
        json::parse(R"({"type":"command","device_id":"wimz-001","id":"c1","command":"go","extra":1})"));
    REQUIRE(ok.has_value());
    CHECK(ok->device_id == "wimz-001");
    CHECK_FALSE(ok->data.has_value());

    // The type may be left out, but may not name another message.
    CHECK(json::try_value_to<app_command>(json::parse(R"({"device_id":"d","id":"c1","command":"go"})")).has_value());
    auto const wrong_type = json::try_value_to<app_command>(
        json::parse(R"({"type":"ping","device_id":"d","id":"c1","command":"go"})"));
    REQUIRE_FALSE(wrong_type.has_value());
    CHECK(wrong_type.error() == relay::errc::bad_message);

    auto const missing = json::try_value_to<app_command>(json::parse(R"({"type":"command","id":"c1"})"));
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error() == relay::errc::bad_message);
    CHECK_FALSE(json::try_value_to<app_command>(json::parse("[]")).has_value());
    CHECK_FALSE(json::try_value_to<ice_credentials>(json::parse("42")).has_value());
}

TEST_CASE("value_to throws system_error with relay::errc::bad_message on a bad message")
{
    CHECK(json::value_to<resume>(json::parse(R"({"device_id":"d","after_seq":3})")).after_seq == 3);
    try {
        (void)json::value_to<resume>(json::parse(R"({"device_id":"d","after_seq":-3})"));
        FAIL("value_to accepted a negative after_seq");
    } catch (boost::system::system_error const& e) {
        CHECK(e.code() == relay::errc::bad_message);
    }
}

TEST_CASE("defaults a client author expects")
{
    app_webrtc_request const request;
    CHECK(request.media == media::video);
    CHECK(request.quality == quality::auto_);
    CHECK(app_auth_ok{}.protocol == protocol_version);
    CHECK(device_auth_ok{}.protocol == 1);

    // Absent media and quality decode as the defaults and are then written out.
    auto decoded = json::try_value_to<app_webrtc_request>(json::parse(R"({"device_id":"wimz-001"})"));
    REQUIRE(decoded.has_value());
    CHECK(decoded->media == media::video);
    CHECK(decoded->quality == quality::auto_);
    CHECK_FALSE(decoded->id.has_value());
}

TEST_CASE("absent, null and present payloads stay distinct")
{
    auto const absent = json::try_value_to<robot_event>(json::parse(R"({"event":"docked"})"));
    auto const null = json::try_value_to<robot_event>(json::parse(R"({"event":"docked","data":null})"));
    auto const object = json::try_value_to<robot_event>(json::parse(R"({"event":"docked","data":{"a":1}})"));
    REQUIRE(absent.has_value());
    REQUIRE(null.has_value());
    REQUIRE(object.has_value());
    CHECK_FALSE(absent->data.has_value());
    REQUIRE(null->data.has_value());
    CHECK(null->data->is_null());
    CHECK(object->data->at("a") == 1);
}

TEST_CASE("rtt_ms: whole numbers as integers, fractions as numbers, no Infinity")
{
    webrtc_stats stats{"s1", stats_state::connected, connection_type::host, 40.0};
    CHECK(json::value_from(stats).at("rtt_ms").is_int64());
    stats.rtt_ms = 12.5;
    CHECK(json::value_from(stats).at("rtt_ms") == 12.5);
    stats.rtt_ms = std::numeric_limits<double>::infinity();
    CHECK(json::value_from(stats).at("rtt_ms").is_null());
}

TEST_CASE("http messages: headers and the body choice")
{
    auto const parsed = json::try_value_to<robot_http_response>(json::parse(
        R"({"id":"r1","status":201,"headers":{"Content-Type":"application/json","X-A":"1"},"body_b64":"AAE="})"));
    REQUIRE(parsed.has_value());
    CHECK(parsed->status == 201);
    CHECK(parsed->headers.at("Content-Type") == "application/json");
    CHECK(parsed->headers.size() == 2);
    CHECK_FALSE(parsed->body.has_value());
    CHECK(parsed->body_b64 == "AAE=");

    CHECK_FALSE(json::try_value_to<robot_http_response>(json::parse(R"({"id":"r1","status":200,"body":1,"body_b64":""})"))
                    .has_value());
}
