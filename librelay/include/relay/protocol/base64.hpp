#pragma once
/** @file
 * base64 (RFC 4648 section 4) and base64url (section 5), the one implementation for the whole
 * code base: `body_b64` in the REST tunnel, TURN REST credentials, PHC password strings, JWS
 * segments and random tokens. Decoders are strict and never throw on bad input: whitespace,
 * characters outside the alphabet and non-zero unused trailing bits are refused, so every byte
 * string has exactly one accepted encoding and network input can be fed to them directly.
 */
#include <optional>
#include <string>
#include <string_view>

namespace relay::protocol {

/** Whether a base64 decoder demands `=` padding. */
enum class base64_padding {
    required, ///< the wire form of `body_b64`
    optional, ///< accepted with or without, but when present it must be complete (PHC, keys)
};

/** True for padded standard base64 (the empty string included) whose unused bits are zero. */
bool is_valid_base64(std::string_view text) noexcept;

/** Encodes bytes as padded standard base64 (`body_b64`, TURN REST credentials). */
std::string base64_encode(std::string_view bytes);

/** Standard base64 without trailing `=`, as PHC password strings use it. */
std::string base64_encode_unpadded(std::string_view bytes);

/** Decodes standard base64; nullopt for anything but canonical base64 with the padding asked for. */
std::optional<std::string> base64_decode(std::string_view text,
                                         base64_padding padding = base64_padding::required);

/** base64url without padding, the form JWS (RFC 7515 section 2) and random tokens use: safe in
 * URLs, headers and JSON without escaping. */
std::string base64url_encode(std::string_view bytes);

/** Decodes base64url with the same strictness as base64_decode; padding is optional. */
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace relay::protocol
