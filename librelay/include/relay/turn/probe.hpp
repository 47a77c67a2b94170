#pragma once
/** @file
 * The TURN self-probe: the relay asks its own provider for fresh credentials and performs a
 * real Allocate (then releases it) on every `turn:`/`turns:` URL the provider hands out, so a
 * TURN server that refuses the relay's credentials (a wrong coturn secret: 401) is found by the
 * relay rather than by users. relayd runs it every RELAY_TURN_PROBE_INTERVAL seconds and shows
 * failures in /health (docs/webrtc.md "The relay probes its own TURN"); `relayd turn-check` runs
 * it once.
 */
#include <relay/turn/provider.hpp>
#include <relay/turn/turn_client.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace relay::turn {

/** The subject the probe's credentials are issued for (the coturn username's second part). */
inline constexpr std::string_view probe_subject = "relay-probe";
/** How long the probe's credentials stay valid; only the probe ever uses them. */
inline constexpr std::chrono::seconds probe_ttl{600};

/** One URL's result. */
struct url_probe {
    std::string url;
    allocation_outcome outcome;
};

struct probe_report {
    /** Set when the provider gave no credentials (its reason); `urls` is then empty. */
    std::string credentials_failure;
    std::vector<url_probe> urls;

    bool ok() const noexcept;
    /** Empty when ok, else each failure as "URL: answer" joined by "; " (what /health shows). */
    std::string problems() const;
};

/** The `turn:`/`turns:` URLs in `c` (its `urls` and every ice_servers entry), each once, in order. */
std::vector<std::string> probe_targets(protocol::ice_credentials const& c);

/** Runs one probe with `p`'s credentials for probe_subject. Blocks for credentials() plus at
 * most options.timeout per URL. A provider without TURN URLs ("none") gives an empty report. */
probe_report run_probe(provider& p, client_options const& options = {});

} // namespace relay::turn
