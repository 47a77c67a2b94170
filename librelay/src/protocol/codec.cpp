// The four decoders: size check, parse, "type" dispatch, field check.
#include "field_io.hpp"

#include <relay/protocol/codec.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <array>
#include <cmath>
#include <exception>

namespace relay::protocol {
namespace {

namespace json = boost::json;

// An unknown type is echoed in the error message; never echo more than this of it.
constexpr std::size_t max_echoed_type = 64;

// At most `max` bytes of `text`, not cutting a UTF-8 sequence in half.
std::string_view utf8_prefix(std::string_view text, std::size_t max) noexcept
{
    if (text.size() <= max)
        return text;
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
    return text.substr(0, end);
}

// Boost.JSON turns 1e400 into infinity, which it would later write as `Infinity`, which is not
// JSON: refuse such numbers so that nothing forwarded can break a receiver's parser.
bool has_non_finite_number(json::value const& v) noexcept
{
    switch (v.kind()) {
    case json::kind::double_:
        return !std::isfinite(v.get_double());
    case json::kind::array:
        for (auto const& item : v.get_array())
            if (has_non_finite_number(item))
                return true;
        return false;
    case json::kind::object:
        for (auto const& entry : v.get_object())
            if (has_non_finite_number(entry.value()))
                return true;
        return false;
    default:
        return false;
    }
}

template <class V> using decoder = decode_result<V> (*)(json::object const&, std::optional<std::string>&);

// Decodes the fields of message T and wraps it in the direction's variant V.
template <class V, class T> decode_result<V> decode_as(json::object const& obj, std::optional<std::string>& ref)
{
    T message{};
    if (auto failure = detail::read_object(obj, message))
        return decode_error{relay::errc::bad_message, std::move(failure->message), std::move(ref),
                            std::move(failure->field)};
    return V(std::in_place_type<T>, std::move(message));
}

// The dispatch table of a direction, made from its variant: wire type → decoder.
template <class V> struct dispatch;

template <class... Ts> struct dispatch<std::variant<Ts...>> {
    using variant = std::variant<Ts...>;
    struct entry {
        std::string_view type;
        decoder<variant> decode;
    };
    static constexpr std::array<entry, sizeof...(Ts)> table{{{Ts::type_name, &decode_as<variant, Ts>}...}};

    static constexpr bool types_are_unique()
    {
        for (std::size_t i = 0; i < table.size(); ++i)
            for (std::size_t k = i + 1; k < table.size(); ++k)
                if (table[i].type == table[k].type)
                    return false;
        return true;
    }
    static_assert(types_are_unique(), "two messages of one direction share a wire type");

    static decoder<variant> find(std::string_view type) noexcept
    {
        for (auto const& e : table)
            if (e.type == type)
                return e.decode;
        return nullptr;
    }
};

template <class V> decode_result<V> decode(std::string_view text, std::size_t max_size) noexcept
{
    try {
        // Checked before parsing, so an oversized text costs nothing.
        if (text.size() > max_size)
            return decode_error{relay::errc::message_too_large,
                                "the message is " + std::to_string(text.size()) + " bytes; the limit is "
                                    + std::to_string(max_size),
                                std::nullopt, ""};

        // The parsed document lives only during this call; payloads kept by the message are
        // copied out of it (field_io.hpp), so a monotonic buffer serves the whole parse.
        std::array<unsigned char, 4096> buffer;
        json::monotonic_resource resource(buffer.data(), buffer.size());
        json::parse_options options;
        options.max_depth = max_nesting_depth;
        boost::system::error_code ec;
        json::value const document = json::parse(detail::to_json_view(text), ec, &resource, options);
        if (ec)
            return decode_error{relay::errc::bad_json, "the message is not valid JSON: " + ec.message(),
                                std::nullopt, ""};
        if (has_non_finite_number(document))
            return decode_error{relay::errc::bad_json, "the message contains a number too large for a double",
                                std::nullopt, ""};
        auto const* obj = document.if_object();
        if (!obj)
            return decode_error{relay::errc::bad_json, "the message must be a JSON object", std::nullopt, ""};

        std::optional<std::string> ref;
        if (auto const* id = obj->if_contains("id"); id && id->is_string() && is_valid_message_id(id->get_string()))
            ref.emplace(id->get_string());

        auto const* type = obj->if_contains("type");
        if (!type || !type->is_string())
            return decode_error{relay::errc::unknown_type,
                                type ? "field 'type' must be a string" : "field 'type' is required", std::move(ref),
                                "type"};
        std::string_view const name = type->get_string();
        auto const decode_fields = dispatch<V>::find(name);
        if (!decode_fields) {
            std::string message = "unknown message type '";
            message += utf8_prefix(name, max_echoed_type);
            message += name.size() > max_echoed_type ? "...'" : "'";
            return decode_error{relay::errc::unknown_type, std::move(message), std::move(ref), "type"};
        }
        return decode_fields(*obj, ref);
    } catch (std::exception const&) {
        // Only allocation can fail here; report it instead of taking the connection down.
        return decode_error{relay::errc::internal, std::string(default_message(relay::errc::internal)),
                            std::nullopt, ""};
    }
}

} // namespace

decode_result<app_inbound> decode_app_inbound(std::string_view text, std::size_t max_size) noexcept
{
    return decode<app_inbound>(text, max_size);
}

decode_result<app_outbound> decode_app_outbound(std::string_view text, std::size_t max_size) noexcept
{
    return decode<app_outbound>(text, max_size);
}

decode_result<device_inbound> decode_device_inbound(std::string_view text, std::size_t max_size) noexcept
{
    return decode<device_inbound>(text, max_size);
}

decode_result<device_outbound> decode_device_outbound(std::string_view text, std::size_t max_size) noexcept
{
    return decode<device_outbound>(text, max_size);
}

std::string encode_error(relay::errc code, std::string_view message, std::optional<std::string_view> ref)
{
    error e{code, message.empty() ? std::string(default_message(code)) : std::string(message), std::nullopt};
    if (ref)
        e.ref.emplace(*ref);
    return encode(e);
}

std::string encode_error(decode_error const& failure)
{
    return encode_error(failure.code, failure.message, failure.ref);
}

} // namespace relay::protocol
