// libFuzzer target: feeds arbitrary bytes to the four decoders (and the string helpers they use)
// and checks what must hold for any input, not just that nothing crashes:
//   - a decoded message re-encodes to text that decodes again and re-encodes to the same JSON
//     (numbers that are doubles within a few ulps: Boost.JSON 1.81 does not parse decimals
//     with correct rounding, so a double may move by an ulp each time it is parsed);
//   - a failure becomes an `error` message that decodes on the client side with the same code;
//   - base64 and timestamps that parse print back as they were read (when canonical).
#include <relay/protocol/base64.hpp>
#include <relay/protocol/codec.hpp>
#include <relay/protocol/timestamp.hpp>

#include <boost/json/parse.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace {

namespace json = boost::json;
namespace protocol = relay::protocol;

// Makes the fuzzer report the input: an invariant of the protocol does not hold.
void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

double as_double(json::value const& v) noexcept
{
    if (v.is_int64())
        return static_cast<double>(v.get_int64());
    if (v.is_uint64())
        return static_cast<double>(v.get_uint64());
    return v.get_double();
}

bool nearly_equal(double x, double y) noexcept
{
    if (x == y)
        return true;
    if (!std::isfinite(x) || !std::isfinite(y) || std::signbit(x) != std::signbit(y))
        return false;
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::memcpy(&a, &x, sizeof a);
    std::memcpy(&b, &y, sizeof b);
    return (a > b ? a - b : b - a) <= 8;
}

// JSON equality, except that numbers involving a double only need to be a few ulps apart.
bool same_json(json::value const& a, json::value const& b)
{
    if (a.is_number() && b.is_number()) {
        if (!a.is_double() && !b.is_double())
            return a == b;
        return nearly_equal(as_double(a), as_double(b));
    }
    if (a.kind() != b.kind())
        return false;
    if (a.is_array()) {
        auto const& x = a.get_array();
        auto const& y = b.get_array();
        if (x.size() != y.size())
            return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!same_json(x[i], y[i]))
                return false;
        return true;
    }
    if (a.is_object()) {
        auto const& x = a.get_object();
        auto const& y = b.get_object();
        if (x.size() != y.size())
            return false;
        for (auto const& entry : x) {
            auto const* other = y.if_contains(entry.key());
            if (!other || !same_json(entry.value(), *other))
                return false;
        }
        return true;
    }
    return a == b;
}

template <class V>
void check_decoder(std::string_view text,
                   protocol::decode_result<V> (*decode)(std::string_view, std::size_t) noexcept)
{
    auto result = decode(text, protocol::default_max_message_size);
    if (result.ok()) {
        std::string const encoded = protocol::encode(result.value());
        // Defaults written out may make the canonical form longer than the input.
        auto again = decode(encoded, std::numeric_limits<std::size_t>::max());
        require(again.ok());
        require(same_json(json::parse(protocol::encode(again.value())), json::parse(encoded)));
        require(protocol::type_name_of(again.value()) == protocol::type_name_of(result.value()));
        return;
    }
    auto const& failure = result.error();
    require(!failure.message.empty());
    require(failure.code == relay::errc::bad_json || failure.code == relay::errc::message_too_large
            || failure.code == relay::errc::unknown_type || failure.code == relay::errc::bad_message);
    require(failure.code != relay::errc::bad_message || !failure.field.empty());
    auto answer = protocol::decode_app_outbound(protocol::encode_error(failure));
    require(answer.ok());
    auto const* sent = std::get_if<protocol::error>(&answer.value());
    require(sent != nullptr && sent->code == failure.code && sent->ref == failure.ref);
}

void check_helpers(std::string_view text)
{
    if (auto bytes = protocol::base64_decode(text)) {
        require(protocol::is_valid_base64(text));
        require(protocol::base64_encode(*bytes) == text);
    } else {
        require(!protocol::is_valid_base64(text));
    }
    if (auto t = protocol::parse_timestamp(text)) {
        // Printing keeps milliseconds; a text with exactly three fraction digits is canonical.
        std::string const printed = protocol::format_timestamp(*t);
        require(protocol::parse_timestamp(printed) == t);
        if (text.size() == 24)
            require(printed == text);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    check_decoder(text, &protocol::decode_app_inbound);
    check_decoder(text, &protocol::decode_app_outbound);
    check_decoder(text, &protocol::decode_device_inbound);
    check_decoder(text, &protocol::decode_device_outbound);
    check_helpers(text);
    return 0;
}
