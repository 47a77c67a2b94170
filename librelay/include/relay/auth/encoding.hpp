#pragma once
/** @file
 * Text encodings for binary data: base64 (RFC 4648 §4), base64url (§5) and hex. Decoders are
 * strict and never throw on bad input: they answer nullopt, so network input can be fed to them
 * directly.
 */
#include <optional>
#include <string>
#include <string_view>

namespace relay::auth {

/** Standard base64 with '=' padding, for formats that expect it (e.g. TURN REST credentials). */
std::string base64_encode(std::string_view data);

/** Standard base64 without trailing '=', as PHC password strings use it. */
std::string base64_encode_unpadded(std::string_view data);

/** Decodes standard base64. Padding is optional but must be right when present; whitespace,
 * characters outside the alphabet and non-zero unused trailing bits are rejected, so every byte
 * string has exactly one accepted encoding. */
std::optional<std::string> base64_decode(std::string_view text);

/** base64url without padding, the form JWS (RFC 7515 §2) and our random tokens use: safe in
 * URLs, headers and JSON without escaping. */
std::string base64url_encode(std::string_view data);

/** Decodes base64url with the same strictness as base64_decode; padding is optional. */
std::optional<std::string> base64url_decode(std::string_view text);

/** Lowercase hex, two characters per byte. */
std::string hex_encode(std::string_view data);

/** Decodes hex of either case; nullopt for an odd length or a non-hex character. */
std::optional<std::string> hex_decode(std::string_view text);

} // namespace relay::auth
