#pragma once
/** @file How every backend stores a role: the same numbers in SQLite and PostgreSQL, so that a
 * copy between them maps rows one to one. */
#include <relay/store/types.hpp>

#include <cstdint>
#include <optional>

namespace relay::store::detail {

/** A role as the memberships table stores it (the schema's CHECK allows 1, 2, 3). The numbers
 * are in every database file and never change, whatever the enum's order. */
constexpr std::int64_t role_number(role r) noexcept
{
    switch (r) {
    case role::viewer: return 1;
    case role::operator_: return 2;
    case role::owner: return 3;
    }
    return 0; // not a role: the CHECK constraint refuses it
}

/** The role a stored number means; nullopt for any other number (a damaged database). */
constexpr std::optional<role> role_from_number(std::int64_t n) noexcept
{
    switch (n) {
    case 1: return role::viewer;
    case 2: return role::operator_;
    case 3: return role::owner;
    default: return std::nullopt;
    }
}

} // namespace relay::store::detail
