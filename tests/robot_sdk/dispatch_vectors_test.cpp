// The robot SDK's dispatch against the shared test vectors (tests/vectors/device_outbound): every
// valid vector reaches exactly the handler of its type with a struct that re-encodes to the
// canonical form; every invalid one reaches no handler and fails with the vector's code.
#include "main/test_files.hpp"

#include <relay/robot/dispatch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace protocol = relay::protocol;

/** Every handler records which one ran and the message it got, re-encoded. */
struct recorder {
    std::vector<std::pair<std::string, std::string>> calls;

    relay::robot::message_handlers handlers()
    {
        relay::robot::message_handlers h;
        auto rec = [this](std::string handler) {
            return [this, handler](auto const& m) { calls.emplace_back(handler, protocol::encode(m)); };
        };
        h.auth_challenge = rec("auth_challenge");
        h.auth_ok = rec("auth_ok");
        h.command = rec("command");
        h.webrtc_request = rec("webrtc_request");
        h.webrtc_answer = rec("webrtc_answer");
        h.webrtc_ice = rec("webrtc_ice");
        h.webrtc_close = rec("webrtc_close");
        h.http_request = rec("http_request");
        h.turn_credentials = rec("turn_credentials");
        h.ack = rec("ack");
        h.pong = rec("pong");
        h.error = rec("error");
        return h;
    }
};

template <class... Ts> std::set<std::string> type_names(std::variant<Ts...> const*)
{
    return {std::string(Ts::type_name)...};
}

} // namespace

TEST_CASE("every device_outbound vector goes through the SDK's dispatch")
{
    fs::path dir = fs::path(RELAY_TEST_VECTORS_DIR) / "device_outbound";
    REQUIRE(fs::is_directory(dir));
    std::set<std::string> reached;
    std::size_t valid = 0, invalid = 0;

    for (auto const& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".json")
            continue;
        std::string stem = entry.path().stem().string();
        CAPTURE(stem);
        auto file = json::parse(relay::test::read_test_file(entry.path())).as_object();

        if (auto* list = file.if_contains("valid")) {
            for (auto const& v : list->as_array()) {
                auto const& vector = v.as_object();
                CAPTURE(vector.at("name"));
                json::value const& expect = vector.contains("expect") ? vector.at("expect") : vector.at("input");
                recorder r;
                auto h = r.handlers();
                auto failure = relay::robot::dispatch(json::serialize(vector.at("input")), h);
                REQUIRE_MESSAGE(!failure, failure->message);
                REQUIRE(r.calls.size() == 1);
                CHECK(r.calls[0].first == stem);
                CHECK(json::parse(r.calls[0].second) == expect);
                reached.insert(r.calls[0].first);
                ++valid;
            }
        }
        if (auto* list = file.if_contains("invalid")) {
            for (auto const& v : list->as_array()) {
                auto const& vector = v.as_object();
                CAPTURE(vector.at("name"));
                std::size_t max_size = protocol::default_max_message_size;
                if (auto* m = vector.if_contains("max_size"))
                    max_size = static_cast<std::size_t>(m->to_number<std::uint64_t>());
                recorder r;
                auto h = r.handlers();
                auto failure = relay::robot::dispatch(std::string(vector.at("text").as_string()), h, max_size);
                REQUIRE(failure);
                CHECK(relay::wire_name(failure->code) == std::string_view(vector.at("error").as_string()));
                if (auto* field = vector.if_contains("field"))
                    CHECK(failure->field == std::string_view(field->as_string()));
                CHECK(r.calls.empty());
                ++invalid;
            }
        }
    }
    // Every message the relay can send a robot has a handler that a vector reached.
    CHECK(reached == type_names(static_cast<protocol::device_outbound const*>(nullptr)));
    CHECK(valid > 10);
    CHECK(invalid > 10);
}

TEST_CASE("dispatch with no handlers set ignores valid messages and still reports bad ones")
{
    relay::robot::message_handlers none;
    CHECK(!relay::robot::dispatch(R"({"type":"pong","ts":"2026-11-21T20:15:03.123Z"})", none));
    auto bad = relay::robot::dispatch(R"({"type":"command","id":"c1"})", none);
    REQUIRE(bad);
    CHECK(bad->code == relay::errc::bad_message);
    auto unknown = relay::robot::dispatch(R"({"type":"teleport"})", none);
    REQUIRE(unknown);
    CHECK(unknown->code == relay::errc::unknown_type);
    auto not_json = relay::robot::dispatch("{", none);
    REQUIRE(not_json);
    CHECK(not_json->code == relay::errc::bad_json);
}
