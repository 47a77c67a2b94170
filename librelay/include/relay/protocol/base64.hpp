#pragma once
/** @file
 * Standard base64 (RFC 4648 section 4, with `=` padding) as used by `body_b64` in the REST
 * tunnel: the relay checks it on the socket and converts between it and raw HTTP bodies.
 */
#include <optional>
#include <string>
#include <string_view>

namespace relay::protocol {

/** True for padded standard base64 (the empty string included) whose unused bits are zero. */
bool is_valid_base64(std::string_view text) noexcept;

/** Encodes bytes as padded standard base64. */
std::string base64_encode(std::string_view bytes);

/** Decodes padded standard base64; nullopt when is_valid_base64 would say false. */
std::optional<std::string> base64_decode(std::string_view text);

} // namespace relay::protocol
