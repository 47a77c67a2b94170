#pragma once
// Who sent a request: the TCP peer, or the client a trusted reverse proxy names.
#include "server/net.hpp"

#include <string>
#include <vector>

namespace relay::server {

/**
 * The client's address: `peer`, or — when `peer` is one of `trusted_proxies` — the rightmost
 * X-Forwarded-For entry that is not itself a trusted proxy. A malformed entry ends the walk at
 * the last address believed, so a client cannot hide behind garbage it prepends.
 */
std::string client_address(std::vector<std::string> const& trusted_proxies, std::string const& peer,
                           http::fields const& headers);

} // namespace relay::server
