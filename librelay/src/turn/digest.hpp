#pragma once
// Private to the turn area: the digests TURN needs, from OpenSSL's EVP interface.
#include <string>
#include <string_view>

namespace relay::turn::detail {

/** HMAC-SHA1 of `data` under `key`, 20 raw bytes (TURN REST credentials, MESSAGE-INTEGRITY).
 * Throws std::runtime_error only when OpenSSL itself fails. */
std::string hmac_sha1(std::string_view key, std::string_view data);

/** A digest (`name` as OpenSSL spells it: "MD5", "SHA256") of `data`, raw bytes. Throws
 * std::runtime_error only when OpenSSL itself fails. */
std::string digest(char const* name, std::string_view data);

} // namespace relay::turn::detail
