#pragma once
/** @file
 * WebRTC signaling (contract section 4): the nested objects (session description, ICE
 * candidate, ICE credentials) and the signaling messages whose wire form is the same in every
 * direction they travel. The request that opens a session differs per socket:
 * app_webrtc_request (app_inbound.hpp) and robot_webrtc_request (device_outbound.hpp); the
 * app's `webrtc_credentials` is in app_outbound.hpp.
 */
#include <relay/protocol/common.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace relay::protocol {

/** An SDP offer or answer: `{"type":"offer","sdp":"v=0…"}` (RTCSessionDescriptionInit). */
struct session_description {
    sdp_type type = sdp_type::offer;
    std::string sdp;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, session_description const& m);
boost::system::result<session_description> tag_invoke(boost::json::try_value_to_tag<session_description>,
                                                      boost::json::value const& jv);

/**
 * One ICE candidate (RTCIceCandidateInit). `sdpMid` and `sdpMLineIndex` may be null and are
 * always sent (as null when unknown); `usernameFragment` is passed through when given.
 */
struct ice_candidate {
    std::string candidate; ///< the a=candidate line; "" is allowed (some browsers' end marker)
    std::optional<std::string> sdpMid;
    std::optional<std::uint16_t> sdpMLineIndex;
    std::optional<std::string> usernameFragment;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, ice_candidate const& m);
boost::system::result<ice_candidate> tag_invoke(boost::json::try_value_to_tag<ice_candidate>,
                                                boost::json::value const& jv);

/** One RTCIceServer. `urls` may be a string on input; it is always sent as an array. */
struct ice_server {
    std::vector<std::string> urls;
    std::optional<std::string> username;
    std::optional<std::string> credential;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, ice_server const& m);
boost::system::result<ice_server> tag_invoke(boost::json::try_value_to_tag<ice_server>, boost::json::value const& jv);

/**
 * ICE credentials, the body of `GET /api/turn/credentials` and the `credentials` /
 * `turn_credentials` of a session. `urls`, `username` and `credential` describe the TURN
 * server (empty when no TURN provider is configured); `ice_servers` is ready for
 * RTCPeerConnection (TURN first, then STUN).
 */
/** The longest credential lifetime a decoder accepts (a year), so `now + ttl` cannot overflow. */
inline constexpr std::uint64_t max_credentials_ttl = 31536000;

struct ice_credentials {
    std::vector<std::string> urls;
    std::string username;
    std::string credential;
    std::uint64_t ttl = 0;       ///< lifetime in seconds, at most max_credentials_ttl
    std::int64_t expires_at = 0; ///< unix seconds, not negative
    std::vector<ice_server> ice_servers;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, ice_credentials const& m);
boost::system::result<ice_credentials> tag_invoke(boost::json::try_value_to_tag<ice_credentials>,
                                                  boost::json::value const& jv);

/**
 * How long after receiving `c` a session built on them should be renewed (a `webrtc_request`
 * with `replaces`, docs/protocol.md decision 28): two thirds of `ttl`, counted from receipt so
 * the two clocks need not agree, leaving a third of the lifetime to build the new session
 * (40 s of a 60 s ttl, 16 h of 24 h).
 */
constexpr std::chrono::seconds renewal_delay(ice_credentials const& c) noexcept
{
    return std::chrono::seconds(static_cast<std::int64_t>(c.ttl / 3 * 2 + c.ttl % 3 * 2 / 3));
}

/** `webrtc_offer` (robot → relay, relay → app): `sdp.type` must be "offer". */
struct webrtc_offer {
    static constexpr std::string_view type_name = "webrtc_offer";
    std::string session_id;
    session_description sdp;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, webrtc_offer const& m);
boost::system::result<webrtc_offer> tag_invoke(boost::json::try_value_to_tag<webrtc_offer>,
                                               boost::json::value const& jv);

/** `webrtc_answer` (app → relay, relay → robot): `sdp.type` must be "answer" or "pranswer". */
struct webrtc_answer {
    static constexpr std::string_view type_name = "webrtc_answer";
    std::string session_id;
    session_description sdp;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, webrtc_answer const& m);
boost::system::result<webrtc_answer> tag_invoke(boost::json::try_value_to_tag<webrtc_answer>,
                                                boost::json::value const& jv);

/**
 * `webrtc_ice` (every direction). `candidate` must be present; null (nullopt) means the
 * sender has no more candidates.
 */
struct webrtc_ice {
    static constexpr std::string_view type_name = "webrtc_ice";
    std::string session_id;
    std::optional<ice_candidate> candidate;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, webrtc_ice const& m);
boost::system::result<webrtc_ice> tag_invoke(boost::json::try_value_to_tag<webrtc_ice>, boost::json::value const& jv);

/** `webrtc_close` as an end of the session sends it (app → relay, robot → relay). */
struct webrtc_close {
    static constexpr std::string_view type_name = "webrtc_close";
    std::string session_id;
    std::optional<std::string> reason;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, webrtc_close const& m);
boost::system::result<webrtc_close> tag_invoke(boost::json::try_value_to_tag<webrtc_close>,
                                               boost::json::value const& jv);

/**
 * `webrtc_close` as the relay delivers it (relay → app, relay → robot): always with a `reason`
 * ("" when the closing end gave none) and who closed the session.
 */
struct webrtc_close_notice {
    static constexpr std::string_view type_name = "webrtc_close";
    std::string session_id;
    std::string reason;
    closed_by by = closed_by::relay;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, webrtc_close_notice const& m);
boost::system::result<webrtc_close_notice> tag_invoke(boost::json::try_value_to_tag<webrtc_close_notice>,
                                                      boost::json::value const& jv);

/**
 * `webrtc_stats` (app → relay, robot → relay): how a session is doing, for the session history.
 * `connection_type` is required when `state` is connected and optional when it is failed (a
 * failed connection has no selected candidate pair). `rtt_ms` is a number from 0 to max_rtt_ms;
 * the decoder refuses anything else, so it always converts to an integer safely.
 */
/** The largest round-trip time a `webrtc_stats` may report: ten minutes, far beyond any real one. */
inline constexpr double max_rtt_ms = 600000;

struct webrtc_stats {
    static constexpr std::string_view type_name = "webrtc_stats";
    std::string session_id;
    stats_state state = stats_state::connected;
    std::optional<protocol::connection_type> connection_type;
    std::optional<double> rtt_ms;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, webrtc_stats const& m);
boost::system::result<webrtc_stats> tag_invoke(boost::json::try_value_to_tag<webrtc_stats>,
                                               boost::json::value const& jv);

} // namespace relay::protocol
