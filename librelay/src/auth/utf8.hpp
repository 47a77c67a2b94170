#pragma once
/** @file Private: strict UTF-8 validation shared by the password policy, email checks and the tunnel's path filter. */
#include <cstddef>
#include <optional>
#include <string_view>

namespace relay::auth::detail {

/** Number of code points in `text`, or nullopt when it is not well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequences). */
std::optional<std::size_t> utf8_code_points(std::string_view text) noexcept;

} // namespace relay::auth::detail
