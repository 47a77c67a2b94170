#pragma once
/** @file
 * What both sockets share: the protocol version, the enums of the wire, and the messages whose
 * wire form is the same in every direction they travel: `ping`, `pong` and `error`.
 * WebRTC signaling, also shared, is in webrtc.hpp; the rest is in one header per direction:
 * app_inbound.hpp (app → relay), app_outbound.hpp (relay → app), device_inbound.hpp
 * (robot → relay), device_outbound.hpp (relay → robot). docs/protocol.md has the full table.
 *
 * Every message is a plain struct named after its wire `type` (`type_name` holds it), with a
 * `tag_invoke` pair beside it: `boost::json::value_from(m)` gives the complete message with
 * `"type"` first; `boost::json::try_value_to<T>(jv)` checks every field (unknown ones are
 * ignored) and fails with relay::errc::bad_message. The codec (codec.hpp) adds which field failed.
 */
#include <relay/protocol/errc.hpp>
#include <relay/protocol/timestamp.hpp>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace relay::protocol {

/** The protocol version announced in `auth_ok`. */
inline constexpr int protocol_version = 1;

/**
 * Converts an enum of this protocol from its wire string; nullopt for any other string.
 * Specialised for every enum below: `from_string<media>("video")`.
 */
template <class Enum> std::optional<Enum> from_string(std::string_view text) noexcept;

/**
 * What a user may do with a device. Ordered so that comparisons mean "at least":
 * owner > operator_ > viewer (the wire name of operator_ is "operator", a C++ keyword).
 */
enum class role { viewer, operator_, owner };
std::string_view to_string(role value) noexcept;
template <> std::optional<role> from_string<role>(std::string_view text) noexcept;

/** True when `granted` allows what `needed` allows (owner ⊃ operator ⊃ viewer). */
constexpr bool role_allows(role granted, role needed) noexcept { return granted >= needed; }

/** What a WebRTC session carries. */
enum class media { video, audio, both };
std::string_view to_string(media value) noexcept;
template <> std::optional<media> from_string<media>(std::string_view text) noexcept;

/** The video quality an app asks for; auto_ ("auto") lets the robot choose. */
enum class quality { low, medium, high, auto_ };
std::string_view to_string(quality value) noexcept;
template <> std::optional<quality> from_string<quality>(std::string_view text) noexcept;

/** Who ended a WebRTC session. */
enum class closed_by { app, robot, relay };
std::string_view to_string(closed_by value) noexcept;
template <> std::optional<closed_by> from_string<closed_by>(std::string_view text) noexcept;

/** The ICE candidate type of the selected pair (RTCIceCandidateType). */
enum class connection_type { host, srflx, prflx, relay };
std::string_view to_string(connection_type value) noexcept;
template <> std::optional<connection_type> from_string<connection_type>(std::string_view text) noexcept;

/** The state a `webrtc_stats` report announces. */
enum class stats_state { connected, failed };
std::string_view to_string(stats_state value) noexcept;
template <> std::optional<stats_state> from_string<stats_state>(std::string_view text) noexcept;

/** The kind of a session description (RTCSdpType). */
enum class sdp_type { offer, pranswer, answer, rollback };
std::string_view to_string(sdp_type value) noexcept;
template <> std::optional<sdp_type> from_string<sdp_type>(std::string_view text) noexcept;

/**
 * Headers of a tunnelled HTTP message: a JSON object of string → string. Names must be HTTP
 * tokens and values may not contain control characters other than tab.
 */
using http_headers = std::map<std::string, std::string, std::less<>>;

/**
 * `ping` (app → relay, robot → relay): a liveness check answered with `pong`. Apps may give an
 * `id` that the pong echoes; robots send none.
 */
struct ping {
    static constexpr std::string_view type_name = "ping";
    std::optional<std::string> id;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, ping const& m);
boost::system::result<ping> tag_invoke(boost::json::try_value_to_tag<ping>, boost::json::value const& jv);

/** `pong` (relay → app, relay → robot): the answer to `ping`, with the relay's time. */
struct pong {
    static constexpr std::string_view type_name = "pong";
    std::optional<std::string> id; ///< the ping's id, when it had one
    timestamp ts;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, pong const& m);
boost::system::result<pong> tag_invoke(boost::json::try_value_to_tag<pong>, boost::json::value const& jv);

/**
 * `error` (relay → app, relay → robot). `message` is always sent; when a received error has
 * none (the contract's robot auth failure shows only a code), it decodes as the code's
 * default_message(). `ref` is the `id` of the message that caused it.
 */
struct error {
    static constexpr std::string_view type_name = "error";
    relay::errc code = relay::errc::internal;
    std::string message;
    std::optional<std::string> ref;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, error const& m);
boost::system::result<error> tag_invoke(boost::json::try_value_to_tag<error>, boost::json::value const& jv);

} // namespace relay::protocol
