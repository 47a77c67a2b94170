#pragma once
// Private to the turn area: assembling the `ice_servers` list every provider answers with.
#include <relay/protocol/webrtc.hpp>

#include <string>
#include <vector>

namespace relay::turn::detail {

/** Appends one STUN entry holding `stun_urls` without duplicates (in first-seen order); appends
 * nothing when the list is empty, since an RTCIceServer needs at least one URL. */
void append_stun_entry(std::vector<protocol::ice_server>& servers, std::vector<std::string> const& stun_urls);

} // namespace relay::turn::detail
