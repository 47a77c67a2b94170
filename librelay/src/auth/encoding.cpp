#include <relay/auth/encoding.hpp>

#include <relay/protocol/base64.hpp>

#include <algorithm>

namespace relay::auth {
namespace {

// Standard base64 with padding is protocol's (canonical, strict); the variants here only change
// the alphabet or the padding around it.
enum class alphabet { standard, url };

std::string encode(std::string_view data, alphabet which, bool padded)
{
    std::string out = protocol::base64_encode(data);
    if (which == alphabet::url) {
        std::replace(out.begin(), out.end(), '+', '-');
        std::replace(out.begin(), out.end(), '/', '_');
    }
    if (!padded)
        while (!out.empty() && out.back() == '=')
            out.pop_back();
    return out;
}

std::optional<std::string> decode(std::string_view text, alphabet which)
{
    std::string standard(text);
    if (which == alphabet::url) {
        for (auto& c : standard) {
            if (c == '+' || c == '/')
                return std::nullopt;
            c = c == '-' ? '+' : c == '_' ? '/' : c;
        }
    }
    // Padding is optional, but when present it must already be complete: only text without
    // any is padded here, and the strict decoder judges the rest (alphabet, unused bits).
    if (!standard.ends_with('='))
        standard.append((4 - standard.size() % 4) % 4, '=');
    return protocol::base64_decode(standard);
}

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

std::string base64_encode(std::string_view data) { return encode(data, alphabet::standard, true); }

std::string base64_encode_unpadded(std::string_view data) { return encode(data, alphabet::standard, false); }

std::optional<std::string> base64_decode(std::string_view text) { return decode(text, alphabet::standard); }

std::string base64url_encode(std::string_view data) { return encode(data, alphabet::url, false); }

std::optional<std::string> base64url_decode(std::string_view text) { return decode(text, alphabet::url); }

std::string hex_encode(std::string_view data)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (unsigned char const c : data) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0x0F]);
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view text)
{
    if (text.size() % 2 != 0)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int const hi = hex_value(text[i]);
        int const lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out.push_back(static_cast<char>((hi << 4) | lo));
    }
    return out;
}

} // namespace relay::auth
