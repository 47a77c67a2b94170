#pragma once
/** @file
 * STUN messages (RFC 8489) with the TURN additions (RFC 8656) that the relay's TURN client
 * needs: building requests with long-term credentials (MESSAGE-INTEGRITY, FINGERPRINT) and
 * reading answers (ERROR-CODE, XOR-RELAYED-ADDRESS, XOR-MAPPED-ADDRESS, REALM, NONCE). Parsing
 * never throws: bytes from the network are untrusted. The MACs and digests come from OpenSSL.
 */
#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::turn::stun {

inline constexpr std::uint32_t magic_cookie = 0x2112A442;
/** Every STUN message starts with a header of this size. */
inline constexpr std::size_t header_size = 20;

using transaction_id = std::array<std::uint8_t, 12>;

/** Message types (method and class together) the client sends and expects. */
namespace type {
inline constexpr std::uint16_t binding_request = 0x0001, binding_success = 0x0101, binding_error = 0x0111;
inline constexpr std::uint16_t allocate_request = 0x0003, allocate_success = 0x0103, allocate_error = 0x0113;
inline constexpr std::uint16_t refresh_request = 0x0004, refresh_success = 0x0104, refresh_error = 0x0114;
} // namespace type

/** Attribute types (RFC 8489 §18.3, RFC 8656 §18). */
namespace attr {
inline constexpr std::uint16_t mapped_address = 0x0001, username = 0x0006, message_integrity = 0x0008,
                               error_code = 0x0009, lifetime = 0x000D, realm = 0x0014, nonce = 0x0015,
                               xor_relayed_address = 0x0016, requested_transport = 0x0019,
                               xor_mapped_address = 0x0020, software = 0x8022, fingerprint = 0x8028;
} // namespace attr

/** A fresh random transaction id (OpenSSL's RAND_bytes). */
transaction_id random_transaction_id();

/** The long-term credential key: MD5(username ":" realm ":" password), 16 raw bytes. The
 * caller passes strings already through SASLprep/OpaqueString (plain ASCII needs none). */
std::string long_term_key(std::string_view username, std::string_view realm, std::string_view password);

/** Builds one message. Attributes are appended in order and padded with zero bytes. */
class message_builder {
public:
    message_builder(std::uint16_t type, transaction_id const& id);

    /** Appends an attribute with a raw value (at most 65535 bytes; longer values are cut). */
    message_builder& add(std::uint16_t type, std::string_view value);
    /** Appends a 32-bit attribute in network order (LIFETIME, REQUESTED-TRANSPORT…). */
    message_builder& add_u32(std::uint16_t type, std::uint32_t value);
    /** Appends MESSAGE-INTEGRITY: HMAC-SHA1 under `key` over the message so far, its length
     * field already counting the attribute (RFC 8489 §14.5). */
    message_builder& add_message_integrity(std::string_view key);
    /** Appends FINGERPRINT: CRC-32 of the message so far XOR 0x5354554e (RFC 8489 §14.7). */
    message_builder& add_fingerprint();

    /** The encoded message. */
    std::string const& bytes() const noexcept { return data_; }

private:
    void set_length(std::size_t body);
    std::string data_;
};

/** An ERROR-CODE attribute: the number (300…699) and the server's reason phrase. */
struct error_answer {
    int code = 0;
    std::string reason;
};

/** A received message, checked for well-formedness; its attributes are looked up by type. */
class message {
public:
    /**
     * Checks `bytes` is exactly one STUN message: the two leading zero bits, the magic cookie,
     * a length that is a multiple of 4 and matches, attributes that fit. Fails with
     * relay::errc::bad_message otherwise; never throws on what it reads.
     */
    static boost::system::result<message> parse(std::string_view bytes);

    std::uint16_t type() const noexcept;
    transaction_id id() const noexcept;
    /** The first attribute of that type, if any (the value without its padding). */
    std::optional<std::string_view> find(std::uint16_t type) const noexcept;
    /** ERROR-CODE, when present and well-formed. */
    std::optional<error_answer> error() const;
    /** An XOR-…-ADDRESS attribute as "ip:port" ("[v6]:port" for IPv6); nullopt when absent or
     * malformed. */
    std::optional<std::string> xor_address(std::uint16_t type) const;
    /** Whether MESSAGE-INTEGRITY is present and matches HMAC-SHA1 under `key`. */
    bool integrity_valid(std::string_view key) const;
    /** Whether FINGERPRINT is present, last, and matches. */
    bool fingerprint_valid() const;
    /** The message as received. */
    std::string_view bytes() const noexcept { return data_; }

private:
    struct attribute {
        std::uint16_t type;
        std::size_t offset; ///< of the attribute header within data_
        std::uint16_t length;
    };
    std::optional<attribute> locate(std::uint16_t type) const noexcept;

    std::string data_;
    std::vector<attribute> attributes_;
};

/**
 * For stream transports (TCP, TLS): the size of the message whose header starts `header`
 * (at least header_size bytes), or nullopt when that cannot be the start of a STUN message.
 */
std::optional<std::size_t> frame_size(std::string_view header) noexcept;

} // namespace relay::turn::stun
