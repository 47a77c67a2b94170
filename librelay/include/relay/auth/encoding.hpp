#pragma once
/** @file
 * Hex for binary data. The decoder is strict and never throws on bad input: it answers nullopt,
 * so network input can be fed to it directly. base64 and base64url are in
 * <relay/protocol/base64.hpp>, one implementation shared with the protocol.
 */
#include <optional>
#include <string>
#include <string_view>

namespace relay::auth {

/** Lowercase hex, two characters per byte. */
std::string hex_encode(std::string_view data);

/** Decodes hex of either case; nullopt for an odd length or a non-hex character. */
std::optional<std::string> hex_decode(std::string_view text);

} // namespace relay::auth
