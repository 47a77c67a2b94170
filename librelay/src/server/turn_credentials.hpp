#pragma once
// Issuing ICE credentials from the configured TURN provider: the one code path behind
// GET/POST /api/turn/credentials (routes_turn.cpp) and a robot's turn_credentials_request
// (device_session.cpp), so both answer alike.
#include "server/net.hpp"

#include <relay/turn/provider.hpp>

#include <string>

namespace relay::server {

struct runtime;

/**
 * Credentials for `subject` (a user id over HTTP, the device id for a robot) valid for
 * RELAY_TURN_TTL, from the provider on the blocking pool (it may call a remote API). A failure
 * is logged as `turn_unavailable` and returned with its reason; the caller answers
 * TURN_UNAVAILABLE with that reason as the message.
 *
 * `subject` must be a named object that outlives the call (GCC 12 and co_await, see
 * docs/architecture.md).
 */
net::awaitable<turn::credentials_result> issue_turn_credentials(runtime& rt, std::string const& subject);

} // namespace relay::server
