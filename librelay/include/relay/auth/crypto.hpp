#pragma once
/** @file
 * Randomness, digests and MACs, all from OpenSSL: the primitives the rest of the auth area is
 * built on. Nothing here is hand-rolled.
 */
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace relay::auth {

/** `n` bytes from OpenSSL's CSPRNG (RAND_bytes), for keys, salts and nonces. Throws
 * std::runtime_error if the generator fails: nothing can safely continue without randomness. */
std::string random_bytes(std::size_t n);

/** base64url (no padding) of `n_bytes` random bytes: an unguessable identifier that is safe in
 * URLs, headers and JSON. 16 bytes or more for anything an attacker might guess. */
std::string random_token(std::size_t n_bytes);

/**
 * A new random identifier: `prefix` followed by 32 lowercase hex digits (128 bits from the
 * CSPRNG), for user ids, device ids, refresh-token families and WebRTC session ids: unguessable,
 * since some appear in URLs and some are capabilities. errc::internal when the CSPRNG fails,
 * so a store or handler can answer instead of throwing.
 */
boost::system::result<std::string> random_id(std::string_view prefix);

/** The raw 32-byte SHA-256 digest of `data`. */
std::string sha256(std::string_view data);

/** Lowercase hex SHA-256 of `data`, e.g. to store refresh and reset tokens so a database leak
 * does not reveal usable tokens. */
std::string sha256_hex(std::string_view data);

/** Lowercase hex SHA-1 of `data`: a name, not a protection (Redis names a Lua script by it for
 * EVALSHA). */
std::string sha1_hex(std::string_view data);

/** The raw 32-byte HMAC-SHA256 of `data` under `key` (any length, including empty). */
std::string hmac_sha256(std::string_view key, std::string_view data);

/** Whether `a` and `b` are equal, in time that depends only on their lengths (CRYPTO_memcmp),
 * so comparing a secret with attacker input does not leak how many leading bytes matched.
 * Different lengths answer false at once: the length of a MAC or digest is public. */
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace relay::auth
