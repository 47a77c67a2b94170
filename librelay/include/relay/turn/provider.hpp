#pragma once
/** @file
 * TURN credential providers: where the ICE servers handed to both ends of a WebRTC session come
 * from (contract section 4, `GET /api/turn/credentials`). A provider answers with the wire
 * object itself (protocol::ice_credentials), so signaling forwards it unchanged.
 *
 * Three providers exist: none_provider (STUN only, none.hpp), coturn_provider (TURN REST API
 * credentials signed with a shared secret, coturn.hpp) and cloudflare_provider (credentials
 * issued by Cloudflare's API, cloudflare.hpp). docs/webrtc.md explains when to use which.
 */
#include <relay/protocol/errc.hpp>
#include <relay/protocol/webrtc.hpp>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::turn {

/** The wall clock providers stamp expiries with; empty means std::chrono::system_clock::now.
 * Tests pass a fake one to move time without sleeping. */
using clock_function = std::function<std::chrono::system_clock::time_point()>;

/** Why a provider has no credentials to hand out. */
struct failure {
    /** Always errc::turn_unavailable today; a code so callers can map it to the wire. */
    boost::system::error_code code = make_error_code(errc::turn_unavailable);
    /** What is wrong, for the client's error message and for /health. Never holds a secret. */
    std::string reason;
};

/** Credentials, or why there are none. */
using credentials_result = boost::system::result<protocol::ice_credentials, failure>;

/** Lets credentials_result::value() throw: a boost::system::system_error with the reason. */
[[noreturn]] void throw_exception_from_error(failure const& f, boost::source_location const& loc);

/**
 * A source of ICE credentials. Implementations are thread-safe: the server calls them from
 * several threads at once.
 *
 * Calls may block (cloudflare_provider talks to a remote API, bounded by its timeouts), so the
 * server calls credentials() and health() on its blocking pool, never on a network thread.
 */
class provider {
public:
    virtual ~provider() = default;

    /** "none", "coturn" or "cloudflare", for logs. */
    virtual std::string_view name() const noexcept = 0;

    /**
     * Credentials for `subject` (the relay uses the user id, see docs/webrtc.md) that stay valid
     * for about `ttl`: `ttl` and `expires_at` of the answer say exactly how long. Fails with
     * errc::turn_unavailable and a reason when the provider cannot give any it believes valid.
     */
    virtual credentials_result credentials(std::string_view subject, std::chrono::seconds ttl) = 0;

    /** Empty when the provider can issue credentials, else what is wrong (shown by /health). */
    virtual std::string health() = 0;
};

/**
 * Orders TURN URLs for clients that use only the first one (aiortc): UDP first (`turn:` with
 * `?transport=udp` or no transport, which means UDP), then `turn:` over TCP, then `turns:`.
 * The order within each group is kept.
 */
std::vector<std::string> order_turn_urls(std::vector<std::string> urls);

/**
 * The TURN URLs the relay hands out, as the field's clients can use them: without URLs on port
 * 53 (browsers time out on them and Cloudflare advises filtering them out), without duplicates,
 * and ordered for clients that try only the first TURN URL (aiortc): UDP (3478 first), then TCP
 * (3478, then 80), then TLS (`turns:`, 443, then 5349); other ports follow in each group, and
 * URLs that compare equal keep their order.
 */
std::vector<std::string> usable_turn_urls(std::vector<std::string> urls);

/** STUN URLs as the relay hands them out: without port 53 and duplicates, in their order. */
std::vector<std::string> usable_stun_urls(std::vector<std::string> urls);

/** Whether a stun:, stuns:, turn: or turns: URL names port 53 (dropped from every list). */
bool is_port_53_url(std::string_view url);

/** Whether `url` is a `turn:` or `turns:` URL (case-insensitive scheme). */
bool is_turn_url(std::string_view url) noexcept;

/** Whether `url` is a `stun:` or `stuns:` URL (case-insensitive scheme). */
bool is_stun_url(std::string_view url) noexcept;

/** Unix seconds of `t`. */
std::int64_t unix_seconds(std::chrono::system_clock::time_point t) noexcept;

/** `clock()`, or the system clock when `clock` is empty. */
std::chrono::system_clock::time_point now(clock_function const& clock);

} // namespace relay::turn
