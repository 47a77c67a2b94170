// Runs every shared test vector (tests/vectors/<direction>/<type>.json) through the decoder of
// its direction. The directory is iterated, so a new file is picked up without touching this test.
#include "main/test_files.hpp"

#include <relay/protocol/codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_to.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace protocol = relay::protocol;

// The file that holds texts which fail before their type is known.
constexpr std::string_view envelope_stem = "_envelope";

template <class... Ts> std::set<std::string_view> type_names(std::variant<Ts...> const*)
{
    return {Ts::type_name...};
}

// Calls f.template operator()<T>() for the alternative T whose wire type is `type`.
template <class... Ts, class F> bool with_type(std::variant<Ts...> const*, std::string_view type, F&& f)
{
    return ((Ts::type_name == type ? (f.template operator()<Ts>(), true) : false) || ...);
}

struct counts {
    std::size_t files = 0;
    std::size_t valid = 0;
    std::size_t invalid = 0;
};

template <class V> using decoder = protocol::decode_result<V> (*)(std::string_view, std::size_t) noexcept;

template <class V> void check_valid_vector(json::object const& vector, std::string_view type, decoder<V> decode)
{
    json::value const& input = vector.at("input");
    REQUIRE(input.is_object());
    json::value const& expect = vector.contains("expect") ? vector.at("expect") : input;
    std::string const text = json::serialize(input);
    CAPTURE(text);

    auto result = decode(text, protocol::default_max_message_size);
    REQUIRE_MESSAGE(result.ok(), "decoding failed: " << result.error().message);
    CHECK(protocol::type_name_of(result.value()) == type);

    // Re-encoding gives the canonical form, "type" first.
    std::string const encoded = protocol::encode(result.value());
    CAPTURE(encoded);
    CHECK(encoded.rfind("{\"type\":\"" + std::string(type) + "\"", 0) == 0);
    CHECK(json::parse(encoded) == expect);

    // The canonical form is a fixed point.
    auto again = decode(encoded, protocol::default_max_message_size);
    REQUIRE(again.ok());
    CHECK(protocol::encode(again.value()) == encoded);

    // The message's own tag_invoke pair agrees with the codec.
    std::visit(
        [&](auto const& message) {
            using T = std::decay_t<decltype(message)>;
            auto converted = json::try_value_to<T>(input);
            REQUIRE(converted.has_value());
            CHECK(protocol::encode(*converted) == encoded);
            CHECK(json::value_from(message) == json::parse(encoded));
        },
        result.value());
}

template <class V> void check_invalid_vector(json::object const& vector, std::string_view type, decoder<V> decode)
{
    std::string const text(vector.at("text").as_string());
    CAPTURE(text);
    std::size_t const max_size = vector.contains("max_size")
                                   ? static_cast<std::size_t>(vector.at("max_size").to_number<std::uint64_t>())
                                   : protocol::default_max_message_size;

    auto result = decode(text, max_size);
    REQUIRE_FALSE(result.ok());
    auto const& error = result.error();
    CAPTURE(error.message);
    CHECK(relay::wire_name(error.code) == std::string_view(vector.at("error").as_string()));
    std::string const field = vector.contains("field") ? std::string(vector.at("field").as_string()) : "";
    CHECK(error.field == field);
    if (vector.contains("ref"))
        CHECK(error.ref == std::optional<std::string>(std::string(vector.at("ref").as_string())));
    else
        CHECK_FALSE(error.ref.has_value());
    if (vector.contains("message"))
        CHECK(error.message == std::string_view(vector.at("message").as_string()));
    CHECK_FALSE(error.message.empty());

    // The answer the relay would send is itself a valid error message carrying code and ref.
    auto answer = protocol::decode_app_outbound(protocol::encode_error(error));
    REQUIRE(answer.ok());
    auto const& sent = std::get<protocol::error>(answer.value());
    CHECK(sent.code == error.code);
    CHECK(sent.ref == error.ref);

    // A field error is also what the message's own try_value_to reports.
    if (error.code == relay::errc::bad_message) {
        json::value const parsed = json::parse(text);
        bool const known = with_type(static_cast<V const*>(nullptr), type, [&]<class T>() {
            auto converted = json::try_value_to<T>(parsed);
            REQUIRE_FALSE(converted.has_value());
            CHECK(converted.error() == relay::errc::bad_message);
        });
        CHECK(known);
    }
}

template <class V> counts run_direction(std::string_view direction, decoder<V> decode)
{
    fs::path const dir = fs::path(RELAY_TEST_VECTORS_DIR) / std::string(direction);
    REQUIRE_MESSAGE(fs::is_directory(dir), dir.string() << " is missing");
    auto const types = type_names(static_cast<V const*>(nullptr));

    std::vector<fs::path> paths;
    for (auto const& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());

    counts seen;
    std::set<std::string> types_with_valid_vectors;
    bool has_envelope = false;
    for (auto const& path : paths) {
        std::string const stem = path.stem().string();
        CAPTURE(path.string());
        bool const envelope = stem == envelope_stem;
        has_envelope = has_envelope || envelope;
        CHECK_MESSAGE((envelope || types.count(stem) == 1),
                      stem << " is not a message type of " << direction);
        if (!envelope && types.count(stem) == 0)
            continue;

        json::value const file = json::parse(relay::test::read_test_file(path));
        REQUIRE(file.is_object());
        ++seen.files;
        for (auto const& vector : file.at("valid").as_array()) {
            CAPTURE(vector.at("name").as_string());
            CHECK_FALSE(envelope);
            check_valid_vector<V>(vector.as_object(), stem, decode);
            ++seen.valid;
            types_with_valid_vectors.insert(stem);
        }
        for (auto const& vector : file.at("invalid").as_array()) {
            CAPTURE(vector.at("name").as_string());
            check_invalid_vector<V>(vector.as_object(), stem, decode);
            ++seen.invalid;
        }
    }

    // Every message of the direction is pinned by at least one vector.
    for (auto const type : types) {
        CAPTURE(type);
        CHECK(types_with_valid_vectors.count(std::string(type)) == 1);
    }
    CHECK(has_envelope);
    return seen;
}

template <class V> void check_direction(std::string_view direction, decoder<V> decode)
{
    auto const seen = run_direction<V>(direction, decode);
    CHECK(seen.valid > 0);
    CHECK(seen.invalid > 0);
}

} // namespace

// One case per direction, each with valid and invalid vectors.
TEST_CASE("vectors: app -> relay") { check_direction<protocol::app_inbound>("app_inbound", &protocol::decode_app_inbound); }
TEST_CASE("vectors: relay -> app") { check_direction<protocol::app_outbound>("app_outbound", &protocol::decode_app_outbound); }
TEST_CASE("vectors: robot -> relay") { check_direction<protocol::device_inbound>("device_inbound", &protocol::decode_device_inbound); }
TEST_CASE("vectors: relay -> robot") { check_direction<protocol::device_outbound>("device_outbound", &protocol::decode_device_outbound); }
