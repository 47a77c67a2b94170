// The codec's behaviour beyond what a vector can say: limits, refs, encoding, the result type.
#include <relay/protocol/codec.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <string>

namespace json = boost::json;
using namespace relay::protocol;

namespace {

// A valid app message of exactly `size` bytes.
std::string ping_of_size(std::size_t size)
{
    std::string const head = R"({"type":"ping","pad":")";
    std::string const tail = R"("})";
    return head + std::string(size - head.size() - tail.size(), 'a') + tail;
}

// {"type":"command",…,"data":<depth arrays>}: the message object plus `arrays` levels.
std::string command_nested(std::size_t arrays)
{
    return R"({"type":"command","device_id":"wimz-001","id":"c1","command":"go","data":)" + std::string(arrays, '[')
         + std::string(arrays, ']') + "}";
}

} // namespace

TEST_CASE("the size limit is checked on the text, before parsing")
{
    CHECK(decode_app_inbound(ping_of_size(default_max_message_size)).ok());
    auto const too_large = decode_app_inbound(ping_of_size(default_max_message_size + 1));
    REQUIRE_FALSE(too_large.ok());
    CHECK(too_large.error().code == relay::errc::message_too_large);
    CHECK(too_large.error().field.empty());
    CHECK_FALSE(too_large.error().ref.has_value());

    // Not even JSON: the size decides first.
    auto const garbage = decode_device_inbound(std::string(100, '{'), 99);
    REQUIRE_FALSE(garbage.ok());
    CHECK(garbage.error().code == relay::errc::message_too_large);
    CHECK(decode_device_inbound(R"({"type":"ping"})", 15).ok());
    CHECK_FALSE(decode_device_inbound(R"({"type":"ping"})", 14).ok());
}

TEST_CASE("nesting: 32 levels including the message object")
{
    static_assert(max_nesting_depth == 32);
    CHECK(decode_app_inbound(command_nested(31)).ok());
    auto const deep = decode_app_inbound(command_nested(32));
    REQUIRE_FALSE(deep.ok());
    CHECK(deep.error().code == relay::errc::bad_json);
    // Far deeper than the limit is just as harmless.
    CHECK(decode_app_inbound(command_nested(20000)).error().code == relay::errc::bad_json);
}

TEST_CASE("ref: the message's id when it is a valid string id")
{
    auto const bad = decode_app_inbound(R"({"type":"command","id":"c7","device_id":"x y","command":"go"})");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().ref == "c7");
    CHECK(bad.error().field == "device_id");

    CHECK_FALSE(decode_app_inbound(R"({"type":"command","id":7})").error().ref.has_value());
    CHECK_FALSE(decode_app_inbound(R"({"type":"nope","id":"a\u0000b"})").error().ref.has_value());
    CHECK(decode_app_inbound(R"({"type":"nope","id":"n1"})").error().ref == "n1");
}

TEST_CASE("an unknown type is echoed, but not at any length")
{
    auto const short_name = decode_device_inbound(R"({"type":"teleport"})");
    CHECK(short_name.error().message == "unknown message type 'teleport'");

    std::string const long_type(1000, 't');
    auto const long_name = decode_device_inbound(R"({"type":")" + long_type + R"("})");
    REQUIRE_FALSE(long_name.ok());
    CHECK(long_name.error().code == relay::errc::unknown_type);
    CHECK(long_name.error().message.size() < 100);
    CHECK(long_name.error().message.find(std::string(64, 't') + "...'") != std::string::npos);

    // A multi-byte character at the cut is not split.
    std::string const accented = std::string(63, 't') + "\xc3\xa9" + std::string(10, 't');
    auto const cut = decode_device_inbound(R"({"type":")" + accented + R"("})");
    CHECK(cut.error().message == "unknown message type '" + std::string(63, 't') + "...'");
}

TEST_CASE("encode: compact JSON, type first, also for a variant")
{
    app_outbound const message = ack{"c1", "wimz-001"};
    CHECK(encode(message) == R"({"type":"ack","ref":"c1","device_id":"wimz-001"})");
    CHECK(encode(ack{"c1", "wimz-001"}) == encode(message));
    CHECK(type_name_of(message) == "ack");
    device_outbound const close = webrtc_close_notice{"s1", "timeout", closed_by::relay};
    CHECK(type_name_of(close) == "webrtc_close");
}

TEST_CASE("encode_error")
{
    CHECK(encode_error(relay::errc::device_offline, "wimz-001 is offline", "c1")
          == R"({"type":"error","code":"DEVICE_OFFLINE","message":"wimz-001 is offline","ref":"c1"})");
    CHECK(json::parse(encode_error(relay::errc::unauthorized, ""))
          == json::parse(R"({"type":"error","code":"UNAUTHORIZED","message":"authentication required or failed"})"));

    auto const failure = decode_app_inbound(R"({"type":"resume","id":"r9","device_id":"wimz-001"})");
    REQUIRE_FALSE(failure.ok());
    CHECK(encode_error(failure.error())
          == R"({"type":"error","code":"BAD_MESSAGE","message":"field 'after_seq' is required","ref":"r9"})");
}

TEST_CASE("decode_result: ok(), bool, value(), error()")
{
    auto good = decode_app_inbound(R"({"type":"resume","device_id":"wimz-001","after_seq":3})");
    REQUIRE(good.ok());
    CHECK(static_cast<bool>(good));
    CHECK(std::get<resume>(good.value()).after_seq == 3);
    app_inbound moved = std::move(good).value();
    CHECK(std::holds_alternative<resume>(moved));

    auto const bad = decode_app_inbound("{");
    CHECK_FALSE(bad.ok());
    CHECK_FALSE(static_cast<bool>(bad));
    CHECK(bad.error().code == relay::errc::bad_json);
    CHECK_THROWS_AS((void)bad.value(), std::bad_variant_access);
}

TEST_CASE("decoded payloads do not refer to the text or the parse buffer")
{
    std::string text = R"({"type":"command","device_id":"wimz-001","id":"c1","command":"go","data":{"list":[)";
    for (int i = 0; i < 2000; ++i)
        text += std::to_string(i) + ",";
    text += R"("end"]}})";
    auto decoded = decode_app_inbound(text);
    text.assign(text.size(), ' ');
    REQUIRE(decoded.ok());
    auto const& command = std::get<app_command>(decoded.value());
    auto const& list = command.data->at("list").as_array();
    CHECK(list.size() == 2001);
    CHECK(list[1999] == 1999);
    CHECK(list[2000] == "end");
    // Payloads use the default allocator, so they may be kept and moved freely.
    CHECK(command.data->storage().get() == json::storage_ptr().get());
    app_command kept = command;
    decoded = decode_app_inbound("{}");
    CHECK(kept.data->at("list").as_array().size() == 2001);
}

TEST_CASE("the same wire type is a different message in each direction")
{
    CHECK(std::holds_alternative<app_auth>(decode_app_inbound(R"({"type":"auth","token":"t"})").value()));
    CHECK(std::holds_alternative<device_auth>(
        decode_device_inbound(R"({"type":"auth","device_id":"wimz-001","signature":"ab"})").value()));
    CHECK(std::holds_alternative<webrtc_close>(decode_app_inbound(R"({"type":"webrtc_close","session_id":"s1"})").value()));
    CHECK(std::holds_alternative<webrtc_close_notice>(
        decode_app_outbound(R"({"type":"webrtc_close","session_id":"s1","reason":"","by":"robot"})").value()));
    // A robot's message on the app socket is unknown there.
    CHECK(decode_app_inbound(R"({"type":"hello","capabilities":{}})").error().code == relay::errc::unknown_type);
}
