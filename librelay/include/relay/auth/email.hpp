#pragma once
/** @file
 * Email addresses as account names: one normal form, so "Ann@Example.com " and
 * "ann@example.com" are the same account, and a pragmatic validity check.
 */
#include <cstddef>
#include <string>
#include <string_view>

namespace relay::auth {

/** Longest address accepted (RFC 5321's path limit minus the angle brackets). */
inline constexpr std::size_t max_email_length = 254;

/** The form an address is stored and looked up in: surrounding whitespace removed, ASCII
 * letters lowercased (non-ASCII bytes are kept as they are). */
std::string normalize_email(std::string_view email);

/** Whether a normalized address looks deliverable enough to register: valid UTF-8, at most
 * max_email_length bytes, exactly one '@', a local part of 1..64 bytes and a domain with a dot
 * between non-empty labels, no spaces, control characters or characters that only appear in
 * quoted or bracketed forms we do not accept. Deliberately not full RFC 5322. */
bool is_valid_email(std::string_view email) noexcept;

} // namespace relay::auth
