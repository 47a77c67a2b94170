#include <relay/store/types.hpp>

namespace relay::store {

std::string_view to_string(role r) noexcept
{
    switch (r) {
    case role::viewer: return "viewer";
    case role::operator_: return "operator";
    case role::owner: return "owner";
    }
    return "viewer";
}

std::optional<role> role_from_string(std::string_view text) noexcept
{
    if (text == "viewer") return role::viewer;
    if (text == "operator") return role::operator_;
    if (text == "owner") return role::owner;
    return std::nullopt;
}

} // namespace relay::store
