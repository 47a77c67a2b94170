#pragma once
/** @file
 * Device secrets at rest. The relay must know each device secret to check its HMAC, so the
 * secrets cannot be hashed; they are sealed with AES-256-GCM under a key that lives in the
 * configuration, not in the database, so a leaked database alone reveals nothing usable.
 */
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace relay::auth {

/** Authenticated encryption of small secrets with one 32-byte key. Sealed form:
 * `v1.<base64url 12-byte nonce>.<base64url ciphertext‖16-byte tag>`; the version prefix lets a
 * later format or key rotation coexist with stored values. A random nonce per seal is safe for
 * far more values than a relay will ever hold (well under 2^32 per key). Immutable, so one
 * instance may be shared by every thread. */
class secret_box {
public:
    static constexpr std::size_t key_bytes = 32;
    static constexpr std::size_t nonce_bytes = 12;
    static constexpr std::size_t tag_bytes = 16;

    /** `key` is the raw 32-byte key (see parse_key). Throws std::invalid_argument for any other
     * length: a relay with a bad sealing key must not start. */
    explicit secret_box(std::string_view key);

    /** Encrypts and authenticates `plaintext`, binding `associated_data` (e.g. "device:<id>") so
     * a sealed value copied to another row does not open there. Throws std::runtime_error only
     * if OpenSSL fails. */
    std::string seal(std::string_view plaintext, std::string_view associated_data) const;

    /** The plaintext, or nullopt when `sealed` is malformed, was tampered with, or was sealed
     * under another key or other associated data. Never throws on bad input. */
    std::optional<std::string> open(std::string_view sealed, std::string_view associated_data) const;

    /** The raw key from its configuration text: 64 hex characters, or base64 / base64url (padded
     * or not) of exactly 32 bytes; surrounding whitespace is ignored. nullopt otherwise. */
    static std::optional<std::string> parse_key(std::string_view text);

    /** A new random key in the 64-hex-character text form that parse_key accepts, ready to put in
     * the configuration. */
    static std::string generate_key();

private:
    std::string key_;
};

} // namespace relay::auth
