// libFuzzer target: feeds arbitrary bytes to the four decoders (and the string helpers they use)
// and checks what must hold for any input, not just that nothing crashes:
//   - a decoded message re-encodes to text that decodes again and re-encodes identically;
//   - a failure becomes an `error` message that decodes on the client side with the same code;
//   - base64 and timestamps that parse print back as they were read (when canonical).
#include <relay/protocol/base64.hpp>
#include <relay/protocol/codec.hpp>
#include <relay/protocol/timestamp.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace {

namespace protocol = relay::protocol;

// Makes the fuzzer report the input: an invariant of the protocol does not hold.
void require(bool condition)
{
    if (!condition)
        __builtin_trap();
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
        require(protocol::encode(again.value()) == encoded);
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
