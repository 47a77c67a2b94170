#pragma once
// Roles: the store's and the wire's names for them (access-token checks are auth_service's).
#include <relay/protocol/common.hpp>
#include <relay/store/types.hpp>

namespace relay::server {

/** The store's role as the wire names it. */
constexpr protocol::role to_protocol(store::role r) noexcept
{
    switch (r) {
    case store::role::owner: return protocol::role::owner;
    case store::role::operator_: return protocol::role::operator_;
    case store::role::viewer: return protocol::role::viewer;
    }
    return protocol::role::viewer;
}

constexpr store::role to_store(protocol::role r) noexcept
{
    switch (r) {
    case protocol::role::owner: return store::role::owner;
    case protocol::role::operator_: return store::role::operator_;
    case protocol::role::viewer: return store::role::viewer;
    }
    return store::role::viewer;
}

} // namespace relay::server
