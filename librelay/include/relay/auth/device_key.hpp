#pragma once
/** @file
 * Device keys (contract section 8, docs/auth.md "Device keys"): a robot may hold an Ed25519
 * private key instead of a shared secret, and the relay stores only the public key, so a stolen
 * relay database no longer lets anyone impersonate the robot. The challenge is the same as with
 * a secret (device_auth.hpp); the answer is the lowercase hex of the Ed25519 signature over
 * `nonce + "." + device_id`. All of it is OpenSSL's EVP interface; nothing is hand-rolled.
 */
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_pkey_st; // OpenSSL's EVP_PKEY, kept out of this header

namespace relay::auth {

/** Sizes of Ed25519's raw forms (RFC 8032 section 5.1.5 and 5.1.6). */
constexpr std::size_t ed25519_public_key_bytes = 32;
constexpr std::size_t ed25519_seed_bytes = 32;
constexpr std::size_t ed25519_signature_bytes = 64;

/**
 * The raw 32-byte Ed25519 public key in `text`, which is either base64url without padding of
 * the raw key (43 characters) or a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) holding an Ed25519
 * key; surrounding whitespace is ignored. nullopt for anything else (another algorithm, padding,
 * a private key, more than 4 KiB). Never throws: `text` may come from the network.
 */
std::optional<std::string> parse_device_public_key(std::string_view text);

/** The text form the relay stores and shows for a raw public key: base64url without padding. */
std::string device_public_key_text(std::string_view raw_public_key);

/**
 * Whether `signature` (raw, 64 bytes) is a valid Ed25519 signature of `message` under the raw
 * 32-byte `public_key` (EVP_DigestVerify, pure Ed25519). False for wrong sizes or a key that is
 * not a curve point; never throws.
 */
bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature) noexcept;

/**
 * Whether `signature` is a robot's right answer to the challenge `nonce` for `device_id` under
 * the raw `public_key`: exactly 128 lowercase hex characters (the contract's form; upper case is
 * refused, unlike the secret's HMAC answer, since no robot ever sent it) of the Ed25519
 * signature over `nonce + "." + device_id`. Never throws.
 */
bool verify_device_key_signature(std::string_view public_key, std::string_view nonce, std::string_view device_id,
                                 std::string_view signature) noexcept;

/**
 * A robot's Ed25519 private key. `relay-cli device keygen` makes one and writes it as a PKCS#8
 * PEM file; the robot SDK reads that file. Immutable once made, so copies (which share the one
 * OpenSSL key) may be used from any thread.
 */
class device_private_key {
public:
    /** A new key from OpenSSL's CSPRNG. Throws std::runtime_error only if OpenSSL fails. */
    static device_private_key generate();

    /** The key in a PEM `PRIVATE KEY` (PKCS#8) text; nullopt for anything else, including an
     * encrypted PEM (nothing is ever prompted for) and keys of other algorithms. */
    static std::optional<device_private_key> from_pem(std::string_view pem);

    /** The key whose RFC 8032 private key (the 32-byte seed) is `seed`; nullopt for another size. */
    static std::optional<device_private_key> from_seed(std::string_view seed);

    /** The key as an unencrypted PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`). */
    std::string to_pem() const;

    /** The raw 32-byte public key (device_public_key_text gives the form to register). */
    std::string public_key() const;

    /** The raw 64-byte Ed25519 signature of `message`. Throws std::runtime_error only if
     * OpenSSL fails. */
    std::string sign(std::string_view message) const;

private:
    explicit device_private_key(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
    std::shared_ptr<evp_pkey_st> key_;
};

/** A robot's answer with a key: lowercase hex (128 characters) of the Ed25519 signature over
 * `nonce + "." + device_id`. */
std::string device_key_signature(device_private_key const& key, std::string_view nonce, std::string_view device_id);

} // namespace relay::auth
