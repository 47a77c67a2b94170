// STUN message encoding and decoding. Every read of received bytes is bounds-checked against the
// lengths parse() validated; nothing here throws on what the network sent.
#include <relay/turn/stun.hpp>

#include "digest.hpp"

#include <relay/protocol/errc.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/crc.hpp>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace relay::turn::stun {
namespace {

/** XORed into FINGERPRINT's CRC so STUN is told apart from other protocols' CRCs. */
constexpr std::uint32_t fingerprint_xor = 0x5354554e;
constexpr std::size_t attribute_header = 4;
constexpr std::size_t hmac_sha1_size = 20;

std::uint16_t get16(std::string_view s, std::size_t at) noexcept
{
    return static_cast<std::uint16_t>((static_cast<unsigned char>(s[at]) << 8) | static_cast<unsigned char>(s[at + 1]));
}

std::uint32_t get32(std::string_view s, std::size_t at) noexcept
{
    return (std::uint32_t(get16(s, at)) << 16) | get16(s, at + 2);
}

void put16(std::string& s, std::uint16_t v)
{
    s += static_cast<char>(v >> 8);
    s += static_cast<char>(v & 0xff);
}

void put32(std::string& s, std::uint32_t v)
{
    put16(s, static_cast<std::uint16_t>(v >> 16));
    put16(s, static_cast<std::uint16_t>(v & 0xffff));
}

std::size_t padded(std::size_t n) noexcept
{
    return (n + 3) & ~std::size_t(3);
}

std::uint32_t crc32(std::string_view bytes)
{
    boost::crc_32_type crc;
    crc.process_bytes(bytes.data(), bytes.size());
    return crc.checksum();
}

/** `bytes` up to `end` with the header's length field rewritten to `length`: what the sender
 * hashed for MESSAGE-INTEGRITY and FINGERPRINT. */
std::string with_length(std::string_view bytes, std::size_t end, std::size_t length)
{
    std::string out(bytes.substr(0, end));
    out[2] = static_cast<char>((length >> 8) & 0xff);
    out[3] = static_cast<char>(length & 0xff);
    return out;
}

} // namespace

transaction_id random_transaction_id()
{
    transaction_id id{};
    if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
        throw std::runtime_error("OpenSSL: RAND_bytes failed");
    return id;
}

std::string long_term_key(std::string_view username, std::string_view realm, std::string_view password)
{
    std::string text;
    text.reserve(username.size() + realm.size() + password.size() + 2);
    text.append(username).append(":").append(realm).append(":").append(password);
    return detail::digest("MD5", text);
}

message_builder::message_builder(std::uint16_t type, transaction_id const& id)
{
    put16(data_, type & 0x3fff);
    put16(data_, 0);
    put32(data_, magic_cookie);
    data_.append(reinterpret_cast<char const*>(id.data()), id.size());
}

void message_builder::set_length(std::size_t body)
{
    data_[2] = static_cast<char>((body >> 8) & 0xff);
    data_[3] = static_cast<char>(body & 0xff);
}

message_builder& message_builder::add(std::uint16_t type, std::string_view value)
{
    value = value.substr(0, 0xffff);
    put16(data_, type);
    put16(data_, static_cast<std::uint16_t>(value.size()));
    data_.append(value);
    data_.append(padded(value.size()) - value.size(), '\0');
    set_length(data_.size() - header_size);
    return *this;
}

message_builder& message_builder::add_u32(std::uint16_t type, std::uint32_t value)
{
    std::string v;
    put32(v, value);
    return add(type, v);
}

message_builder& message_builder::add_message_integrity(std::string_view key)
{
    // The length field counts the attribute about to be appended, not what may follow it.
    set_length(data_.size() - header_size + attribute_header + hmac_sha1_size);
    return add(attr::message_integrity, detail::hmac_sha1(key, data_));
}

message_builder& message_builder::add_fingerprint()
{
    set_length(data_.size() - header_size + attribute_header + 4);
    return add_u32(attr::fingerprint, crc32(data_) ^ fingerprint_xor);
}

boost::system::result<message> message::parse(std::string_view bytes)
{
    auto bad = make_error_code(errc::bad_message);
    if (bytes.size() < header_size || (static_cast<unsigned char>(bytes[0]) & 0xc0) != 0 ||
        get32(bytes, 4) != magic_cookie)
        return bad;
    std::size_t length = get16(bytes, 2);
    if (length % 4 != 0 || header_size + length != bytes.size())
        return bad;
    message m;
    m.data_ = std::string(bytes);
    for (std::size_t at = header_size; at < bytes.size();) {
        if (bytes.size() - at < attribute_header)
            return bad;
        std::uint16_t type = get16(bytes, at);
        std::uint16_t len = get16(bytes, at + 2);
        if (padded(len) > bytes.size() - at - attribute_header)
            return bad;
        m.attributes_.push_back({type, at, len});
        at += attribute_header + padded(len);
    }
    return m;
}

std::uint16_t message::type() const noexcept
{
    return get16(data_, 0);
}

transaction_id message::id() const noexcept
{
    transaction_id id{};
    std::copy_n(reinterpret_cast<unsigned char const*>(data_.data()) + 8, id.size(), id.begin());
    return id;
}

std::optional<message::attribute> message::locate(std::uint16_t type) const noexcept
{
    for (auto const& a : attributes_)
        if (a.type == type)
            return a;
    return std::nullopt;
}

std::optional<std::string_view> message::find(std::uint16_t type) const noexcept
{
    auto a = locate(type);
    if (!a)
        return std::nullopt;
    return std::string_view(data_).substr(a->offset + attribute_header, a->length);
}

std::optional<error_answer> message::error() const
{
    auto v = find(attr::error_code);
    if (!v || v->size() < 4)
        return std::nullopt;
    int klass = static_cast<unsigned char>((*v)[2]) & 0x7;
    int number = static_cast<unsigned char>((*v)[3]);
    if (klass < 3 || klass > 6 || number > 99)
        return std::nullopt;
    return error_answer{klass * 100 + number, std::string(v->substr(4))};
}

std::optional<std::string> message::xor_address(std::uint16_t type) const
{
    auto v = find(type);
    if (!v || v->size() < 4)
        return std::nullopt;
    auto family = static_cast<unsigned char>((*v)[1]);
    auto port = static_cast<std::uint16_t>(get16(*v, 2) ^ (magic_cookie >> 16));
    // The address is XORed with the cookie, and for IPv6 also with the transaction id.
    std::array<unsigned char, 16> mask{};
    for (int i = 0; i < 4; ++i)
        mask[static_cast<std::size_t>(i)] = static_cast<unsigned char>(magic_cookie >> (24 - 8 * i));
    std::copy_n(reinterpret_cast<unsigned char const*>(data_.data()) + 8, 12, mask.begin() + 4);
    if (family == 0x01 && v->size() == 8) {
        boost::asio::ip::address_v4::bytes_type b{};
        for (std::size_t i = 0; i < 4; ++i)
            b[i] = static_cast<unsigned char>((*v)[4 + i]) ^ mask[i];
        return boost::asio::ip::address_v4(b).to_string() + ":" + std::to_string(port);
    }
    if (family == 0x02 && v->size() == 20) {
        boost::asio::ip::address_v6::bytes_type b{};
        for (std::size_t i = 0; i < 16; ++i)
            b[i] = static_cast<unsigned char>((*v)[4 + i]) ^ mask[i];
        return "[" + boost::asio::ip::address_v6(b).to_string() + "]:" + std::to_string(port);
    }
    return std::nullopt;
}

bool message::integrity_valid(std::string_view key) const
{
    auto a = locate(attr::message_integrity);
    if (!a || a->length != hmac_sha1_size)
        return false;
    // Hashed: everything before the attribute, the length ending with it (RFC 8489 §14.5).
    auto covered = with_length(data_, a->offset, a->offset + attribute_header + hmac_sha1_size - header_size);
    auto expected = detail::hmac_sha1(key, covered);
    return CRYPTO_memcmp(expected.data(), data_.data() + a->offset + attribute_header, hmac_sha1_size) == 0;
}

bool message::fingerprint_valid() const
{
    if (attributes_.empty() || attributes_.back().type != attr::fingerprint || attributes_.back().length != 4)
        return false;
    auto const& a = attributes_.back();
    return (crc32(std::string_view(data_).substr(0, a.offset)) ^ fingerprint_xor) ==
           get32(data_, a.offset + attribute_header);
}

std::optional<std::size_t> frame_size(std::string_view header) noexcept
{
    if (header.size() < header_size || (static_cast<unsigned char>(header[0]) & 0xc0) != 0 ||
        get32(header, 4) != magic_cookie)
        return std::nullopt;
    std::size_t length = get16(header, 2);
    if (length % 4 != 0)
        return std::nullopt;
    return header_size + length;
}

} // namespace relay::turn::stun
