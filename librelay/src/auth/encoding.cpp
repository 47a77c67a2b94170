#include <relay/auth/encoding.hpp>

#include "auth/openssl_util.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace relay::auth {
namespace {

enum class alphabet { standard, url };

// EVP_EncodeBlock/EVP_DecodeBlock take int lengths; work in chunks well below INT_MAX that keep
// whole 3-byte groups (encoding) and whole 4-character quads (decoding).
constexpr std::size_t encode_chunk = 3 * (1u << 20);
constexpr std::size_t decode_chunk = 4 * (1u << 20);

std::string encode(std::string_view data, alphabet which, bool padded)
{
    std::string out;
    out.resize(4 * ((data.size() + 2) / 3) + 1); // +1: EVP_EncodeBlock writes a NUL
    std::size_t written = 0;
    for (std::size_t offset = 0; offset < data.size(); offset += encode_chunk) {
        auto const n = std::min(encode_chunk, data.size() - offset);
        written += static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
            detail::bytes_of(data.substr(offset)), static_cast<int>(n)));
    }
    out.resize(written);
    if (which == alphabet::url) {
        std::replace(out.begin(), out.end(), '+', '-');
        std::replace(out.begin(), out.end(), '/', '_');
    }
    if (!padded)
        while (!out.empty() && out.back() == '=')
            out.pop_back();
    return out;
}

// Value of one base64 character in the chosen alphabet, or -1.
int sextet(char c, alphabet which) noexcept
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (which == alphabet::standard) {
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
    } else {
        if (c == '-')
            return 62;
        if (c == '_')
            return 63;
    }
    return -1;
}

std::optional<std::string> decode(std::string_view text, alphabet which)
{
    // OpenSSL's decoder is lenient (it skips whitespace and accepts '=' inside a quad), so the
    // shape is checked here first and OpenSSL only ever sees canonical, padded input.
    std::size_t padding = 0;
    std::size_t length = text.size();
    while (length > 0 && text[length - 1] == '=' && padding < 2)
        --length, ++padding;
    if (padding > 0 && text.size() % 4 != 0)
        return std::nullopt;
    if (length % 4 == 1)
        return std::nullopt;
    std::string standard(text.substr(0, length));
    for (auto& c : standard) {
        if (sextet(c, which) < 0)
            return std::nullopt;
        if (which == alphabet::url)
            c = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    // The last character of a short group carries unused bits; they must be zero.
    if (length % 4 != 0) {
        int const last = sextet(text[length - 1], which);
        int const unused_mask = length % 4 == 2 ? 0x0F : 0x03;
        if ((last & unused_mask) != 0)
            return std::nullopt;
    }
    std::size_t const missing = (4 - length % 4) % 4;
    standard.append(missing, '=');

    std::string out;
    out.resize(standard.size() / 4 * 3);
    std::size_t written = 0;
    for (std::size_t offset = 0; offset < standard.size(); offset += decode_chunk) {
        auto const n = std::min(decode_chunk, standard.size() - offset);
        int const got = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
            reinterpret_cast<unsigned char const*>(standard.data() + offset), static_cast<int>(n));
        if (got < 0)
            return std::nullopt;
        written += static_cast<std::size_t>(got);
    }
    // EVP_DecodeBlock counts the zero bytes that padding stands for; drop them.
    out.resize(written - missing);
    return out;
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
