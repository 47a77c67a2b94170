#include <relay/protocol/validation.hpp>

#include <algorithm>

namespace relay::protocol {
namespace {

constexpr bool is_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

constexpr bool is_control(char c) noexcept
{
    auto const u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// RFC 9110 section 5.6.2: tchar.
constexpr bool is_token_char(char c) noexcept
{
    if (is_alnum(c))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

template <class Pred>
bool all_of_length(std::string_view text, std::size_t max, Pred pred) noexcept
{
    return !text.empty() && text.size() <= max && std::all_of(text.begin(), text.end(), pred);
}

} // namespace

bool is_valid_device_id(std::string_view text) noexcept
{
    return text != "." && text != ".."
        && all_of_length(text, 64, [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool is_valid_device_name(std::string_view text) noexcept
{
    if (text.empty() || text.size() > max_device_name_bytes
        || text.find_first_not_of(' ') == std::string_view::npos)
        return false;
    // The text is well-formed UTF-8, so each of these byte sequences can only be the code point
    // it encodes: C1 controls (C2 80–9F), U+061C (D8 9C), U+200E/F (E2 80 8E–8F), U+202A–E
    // (E2 80 AA–AE) and U+2066–9 (E2 81 A6–A9).
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto const b = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
        if (is_control(text[i]))
            return false;
        if (b(0) == 0xC2 && b(1) >= 0x80 && b(1) <= 0x9F)
            return false;
        if (b(0) == 0xD8 && b(1) == 0x9C)
            return false;
        if (b(0) == 0xE2 && b(1) == 0x80 && ((b(2) >= 0x8E && b(2) <= 0x8F) || (b(2) >= 0xAA && b(2) <= 0xAE)))
            return false;
        if (b(0) == 0xE2 && b(1) == 0x81 && b(2) >= 0xA6 && b(2) <= 0xA9)
            return false;
    }
    return true;
}

bool is_valid_event_name(std::string_view text) noexcept
{
    return all_of_length(text, 64, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
}

bool is_presence_event(std::string_view name) noexcept
{
    return name == robot_connected_event || name == robot_disconnected_event;
}

bool is_valid_message_id(std::string_view text) noexcept
{
    return all_of_length(text, max_id_length, [](char c) { return !is_control(c); });
}

bool is_valid_session_id(std::string_view text) noexcept
{
    return all_of_length(text, max_id_length, [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool is_valid_http_method(std::string_view text) noexcept
{
    return all_of_length(text, 32, is_token_char);
}

bool is_valid_http_path(std::string_view text) noexcept
{
    return !text.empty() && text.front() == '/' && text.size() <= 2048
        && std::none_of(text.begin(), text.end(),
                        [](char c) { return is_control(c) || c == ' ' || c == '?' || c == '#'; });
}

bool is_valid_http_query(std::string_view text) noexcept
{
    return text.size() <= 4096
        && std::none_of(text.begin(), text.end(), [](char c) { return is_control(c) || c == ' ' || c == '#'; });
}

bool is_valid_http_header_name(std::string_view text) noexcept
{
    return all_of_length(text, 256, is_token_char);
}

bool is_valid_http_header_value(std::string_view text) noexcept
{
    return std::none_of(text.begin(), text.end(), [](char c) { return is_control(c) && c != '\t'; });
}

bool is_valid_http_response_status(unsigned status) noexcept
{
    return status >= 200 && status <= 599;
}

bool http_status_allows_body(unsigned status) noexcept
{
    return status != 204 && status != 304;
}

std::optional<std::uint16_t> parse_port(std::string_view digits) noexcept
{
    if (digits.empty() || digits.size() > 5)
        return std::nullopt;
    unsigned value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

} // namespace relay::protocol
