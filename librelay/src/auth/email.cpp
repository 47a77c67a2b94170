#include <relay/auth/email.hpp>

#include "auth/utf8.hpp"

namespace relay::auth {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// Spaces, control characters and characters that only occur in quoted local parts, comments or
// address literals; refusing them keeps addresses plain and safe to show and log.
bool forbidden(unsigned char c) noexcept
{
    if (c <= 0x20 || c == 0x7F)
        return true;
    switch (c) {
    case '"': case '(': case ')': case ',': case ':': case ';': case '<': case '>': case '[': case ']':
    case '\\':
        return true;
    default:
        return false;
    }
}

// Domain bytes: ASCII letters, digits, '-' and '.', or UTF-8 (internationalized domains).
bool domain_byte(unsigned char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
        || c >= 0x80;
}

} // namespace

std::string normalize_email(std::string_view email)
{
    while (!email.empty() && is_space(email.front()))
        email.remove_prefix(1);
    while (!email.empty() && is_space(email.back()))
        email.remove_suffix(1);
    std::string out(email);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool is_valid_email(std::string_view email) noexcept
{
    if (email.empty() || email.size() > max_email_length || !detail::utf8_code_points(email))
        return false;
    auto const at = email.find('@');
    if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos)
        return false;
    auto const local = email.substr(0, at);
    auto const domain = email.substr(at + 1);
    if (local.empty() || local.size() > 64 || domain.empty())
        return false;
    for (unsigned char const c : email)
        if (forbidden(c))
            return false;
    for (unsigned char const c : domain)
        if (!domain_byte(c))
            return false;
    // At least two labels, none empty: no leading, trailing or doubled dot.
    if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.'
        || domain.find("..") != std::string_view::npos)
        return false;
    return true;
}

} // namespace relay::auth
