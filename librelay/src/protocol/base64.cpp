#include <relay/protocol/base64.hpp>

#include <algorithm>
#include <array>
#include <cstdint>

namespace relay::protocol {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of a base64 character, or -1.
constexpr int sextet(char c) noexcept
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

// Decodes into `out` when given one; returns false for anything but canonical padded base64.
bool decode_into(std::string_view text, std::string* out) noexcept
{
    if (text.size() % 4 != 0)
        return false;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool const last = i + 4 == text.size();
        std::array<int, 4> v{};
        int padding = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            char const c = text[i + k];
            // `=` may only end the last quad, at most twice.
            if (c == '=' && last && k >= 2) {
                ++padding;
                v[k] = 0;
                continue;
            }
            if (padding > 0)
                return false;
            v[k] = sextet(c);
            if (v[k] < 0)
                return false;
        }
        std::uint32_t const n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12)
                              | (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        // Non-zero bits hidden under the padding would let two texts mean the same bytes.
        if ((padding == 2 && (n & 0xffff) != 0) || (padding == 1 && (n & 0xff) != 0))
            return false;
        if (out) {
            out->push_back(static_cast<char>((n >> 16) & 0xff));
            if (padding < 2)
                out->push_back(static_cast<char>((n >> 8) & 0xff));
            if (padding < 1)
                out->push_back(static_cast<char>(n & 0xff));
        }
    }
    return true;
}

} // namespace

bool is_valid_base64(std::string_view text) noexcept
{
    return decode_into(text, nullptr);
}

std::string base64_encode(std::string_view bytes)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t const n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16)
                              | (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8)
                              | static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(alphabet[(n >> 6) & 63]);
        out.push_back(alphabet[n & 63]);
    }
    std::size_t const rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2)
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::string base64_encode_unpadded(std::string_view bytes)
{
    auto out = base64_encode(bytes);
    while (!out.empty() && out.back() == '=')
        out.pop_back();
    return out;
}

std::optional<std::string> base64_decode(std::string_view text, base64_padding padding)
{
    std::string padded;
    // Padding is optional, but when present it must already be complete: only text without
    // any is padded here, and the strict decoder judges the rest (alphabet, unused bits).
    if (padding == base64_padding::optional && !text.ends_with('=') && text.size() % 4 != 0) {
        padded.reserve(text.size() + 3);
        padded.append(text).append((4 - text.size() % 4) % 4, '=');
        text = padded;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    if (!decode_into(text, &out))
        return std::nullopt;
    return out;
}

std::string base64url_encode(std::string_view bytes)
{
    auto out = base64_encode_unpadded(bytes);
    std::replace(out.begin(), out.end(), '+', '-');
    std::replace(out.begin(), out.end(), '/', '_');
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text)
{
    // The url alphabet is the standard one with two characters swapped; the standard ones are
    // not part of it.
    std::string standard(text);
    for (auto& c : standard) {
        if (c == '+' || c == '/')
            return std::nullopt;
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    return base64_decode(standard, base64_padding::optional);
}

} // namespace relay::protocol
