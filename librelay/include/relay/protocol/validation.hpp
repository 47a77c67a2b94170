#pragma once
/** @file
 * The rules for strings that carry meaning on the wire: identifiers, event names and the parts
 * of a tunnelled HTTP request. The decoders apply them; the server and the robot SDK use them to
 * check values that arrive by other paths (URL segments, configuration).
 */
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace relay::protocol {

/** The relay's presence events; robots may not send events with these names. */
inline constexpr std::string_view robot_connected_event = "robot_connected";
inline constexpr std::string_view robot_disconnected_event = "robot_disconnected";

/** The longest message id, ref, user id or session id the protocol accepts, in bytes. */
inline constexpr std::size_t max_id_length = 128;

/** A device id: 1 to 64 characters from `A-Z a-z 0-9 . _ -`, other than `.` and `..` (an id
 * is a URL path segment, where those two mean "here" and "up"). */
bool is_valid_device_id(std::string_view text) noexcept;

/** The longest device name, in bytes. */
inline constexpr std::size_t max_device_name_bytes = 128;

/**
 * A device name (well-formed UTF-8, as every JSON string the relay accepts): 1 to 128 bytes, not
 * only spaces, without control characters (C0, DEL, C1) or the invisible direction marks and
 * overrides (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) that would let a name shown
 * in an app read differently from what it is.
 */
bool is_valid_device_name(std::string_view text) noexcept;

/** An event name: 1 to 64 characters from `a-z 0-9 . _ -`. */
bool is_valid_event_name(std::string_view text) noexcept;

/** robot_connected or robot_disconnected: events only the relay emits. */
bool is_presence_event(std::string_view name) noexcept;

/**
 * A client-chosen id (`id`, `ref`) and the relay's user ids: 1 to 128 bytes without ASCII
 * control characters. Such ids are echoed back, so they must be safe to log and to put in JSON.
 */
bool is_valid_message_id(std::string_view text) noexcept;

/** A WebRTC session id: 1 to 128 characters from `A-Z a-z 0-9 . _ -` (the relay makes them). */
bool is_valid_session_id(std::string_view text) noexcept;

/** An HTTP method: an RFC 9110 token of 1 to 32 characters, e.g. GET or PATCH. */
bool is_valid_http_method(std::string_view text) noexcept;

/** A tunnelled path: starts with `/`, at most 2048 bytes, no spaces, control characters, `?` or `#`. */
bool is_valid_http_path(std::string_view text) noexcept;

/** A tunnelled query string (without the `?`): at most 4096 bytes, no spaces, control characters or `#`. */
bool is_valid_http_query(std::string_view text) noexcept;

/** An HTTP header name: an RFC 9110 token of 1 to 256 characters. */
bool is_valid_http_header_name(std::string_view text) noexcept;

/** An HTTP header value: no control characters except horizontal tab (so no CR/LF injection). */
bool is_valid_http_header_value(std::string_view text) noexcept;

/**
 * A status a tunnelled answer may carry: a final status from 200 to 599. A 1xx is an interim
 * answer, not an answer (101 would switch a proxy's connection to the caller into a raw tunnel,
 * 100 and 103 would leave the caller waiting), and anything else is not HTTP.
 */
bool is_valid_http_response_status(unsigned status) noexcept;

/** Whether an answer with this status may have a body: every one but 204 and 304 (RFC 9110 15.3.5, 15.4.5). */
bool http_status_allows_body(unsigned status) noexcept;

/**
 * A TCP port as a URL writes it: 1 to 5 decimal digits meaning 1 to 65535; nullopt for anything
 * else. The URL parsers (relay addresses, the TURN API, robot-agent's local services) read
 * Boost.URL's port() with it: Boost.URL 1.81's port_number() wraps around above 65535.
 */
std::optional<std::uint16_t> parse_port(std::string_view digits) noexcept;

} // namespace relay::protocol
