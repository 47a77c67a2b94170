// RELAY_TURN_PROVIDER=none: STUN only.
#include <relay/turn/none.hpp>

#include "ice_list.hpp"

#include <algorithm>

namespace relay::turn {

none_provider::none_provider(std::vector<std::string> stun_urls, clock_function clock)
    : stun_urls_(std::move(stun_urls)), clock_(std::move(clock))
{
}

credentials_result none_provider::credentials(std::string_view, std::chrono::seconds ttl)
{
    // STUN needs no credential, but ttl/expires_at still tell the client when to ask again,
    // so a later switch to a TURN provider reaches it.
    protocol::ice_credentials out;
    out.ttl = static_cast<std::uint64_t>(std::max<std::int64_t>(ttl.count(), 1));
    out.expires_at = unix_seconds(now(clock_)) + static_cast<std::int64_t>(out.ttl);
    detail::append_stun_entry(out.ice_servers, stun_urls_);
    return out;
}

} // namespace relay::turn
