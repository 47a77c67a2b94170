#pragma once
/** @file
 * The codec: the one place per direction where a text's `"type"` decides which message it is.
 * Decoding untrusted text never throws: the result holds either the message or a
 * decode_error ready to be sent back as an `error` message (encode_error).
 *
 * | direction                  | variant          | decoder                  |
 * |----------------------------|------------------|--------------------------|
 * | app → relay (`/ws/app`)    | app_inbound      | decode_app_inbound       |
 * | relay → app                | app_outbound     | decode_app_outbound      |
 * | robot → relay (`/ws/device`) | device_inbound | decode_device_inbound    |
 * | relay → robot              | device_outbound  | decode_device_outbound   |
 */
#include <relay/protocol/app_inbound.hpp>
#include <relay/protocol/app_outbound.hpp>
#include <relay/protocol/common.hpp>
#include <relay/protocol/device_inbound.hpp>
#include <relay/protocol/device_outbound.hpp>
#include <relay/protocol/errc.hpp>
#include <relay/protocol/validation.hpp>
#include <relay/protocol/webrtc.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace relay::protocol {

/**
 * Why a text is not a valid message. `code` is BAD_JSON, MESSAGE_TOO_LARGE, UNKNOWN_TYPE or
 * BAD_MESSAGE (INTERNAL only if memory ran out); `message` is a sentence for the sender;
 * `ref` is the message's string `id` when it had a valid one; `field` names the first missing,
 * ill-typed or invalid field ("type" for UNKNOWN_TYPE, nested as "sdp.type" or
 * "devices[0].role"), empty for BAD_JSON and MESSAGE_TOO_LARGE.
 */
struct decode_error {
    relay::errc code = relay::errc::bad_message;
    std::string message;
    std::optional<std::string> ref;
    std::string field;
};

/** The largest text the decoders accept by default (the relay's read_message_max). */
inline constexpr std::size_t default_max_message_size = 64 * 1024;

/** The deepest nesting of arrays and objects the decoders accept. */
inline constexpr std::size_t max_nesting_depth = 32;

/** Everything an app may send. */
using app_inbound = std::variant<app_auth, app_command, app_webrtc_request, webrtc_answer, webrtc_ice, webrtc_close,
                                 webrtc_stats, app_http_request, resume, ping>;

/** Everything the relay sends to an app. */
using app_outbound = std::variant<app_auth_ok, auth_renewed, ack, command_result, event, resumed, pong,
                                  webrtc_credentials, webrtc_offer, webrtc_ice, webrtc_close_notice, http_response,
                                  error>;

/** Everything a robot may send. */
using device_inbound = std::variant<device_auth, hello, robot_event, robot_command_result, webrtc_offer, webrtc_ice,
                                    webrtc_close, webrtc_stats, robot_http_response, turn_credentials_request, ping>;

/** Everything the relay sends to a robot. */
using device_outbound = std::variant<auth_challenge, device_auth_ok, robot_command, robot_webrtc_request,
                                     webrtc_answer, webrtc_ice, webrtc_close_notice, robot_http_request,
                                     turn_credentials, event_ack, pong, error>;

/** A decoded message of variant V, or why there is none. */
template <class V> class decode_result {
public:
    /** A decoded message. */
    decode_result(V message) : state_(std::in_place_index<0>, std::move(message)) {}

    /** A failure. */
    decode_result(decode_error failure) : state_(std::in_place_index<1>, std::move(failure)) {}

    /** True when a message was decoded. */
    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /** The message; only when ok() (otherwise std::bad_variant_access). */
    V& value() & { return std::get<0>(state_); }
    V const& value() const& { return std::get<0>(state_); }
    V&& value() && { return std::get<0>(std::move(state_)); }

    /** The failure; only when !ok() (otherwise std::bad_variant_access). */
    decode_error const& error() const& { return std::get<1>(state_); }

private:
    std::variant<V, decode_error> state_;
};

/** Decodes a text an app sent. Never throws on bad input. */
decode_result<app_inbound> decode_app_inbound(std::string_view text,
                                              std::size_t max_size = default_max_message_size) noexcept;

/** Decodes a text the relay sent to an app (for app-side clients and tests). */
decode_result<app_outbound> decode_app_outbound(std::string_view text,
                                                std::size_t max_size = default_max_message_size) noexcept;

/** Decodes a text a robot sent. Never throws on bad input. */
decode_result<device_inbound> decode_device_inbound(std::string_view text,
                                                    std::size_t max_size = default_max_message_size) noexcept;

/** Decodes a text the relay sent to a robot (for the robot SDK and tests). */
decode_result<device_outbound> decode_device_outbound(std::string_view text,
                                                      std::size_t max_size = default_max_message_size) noexcept;

/**
 * Serializes a message (or one of the variants above) as compact JSON with `"type"` first.
 * Serialize once and share the bytes with every receiver.
 */
template <class T> std::string encode(T const& message)
{
    return boost::json::serialize(boost::json::value_from(message));
}

/** An `error` message; an empty `message` is replaced by the code's default_message(). */
std::string encode_error(relay::errc code, std::string_view message, std::optional<std::string_view> ref = {});

/** The `error` message that answers a failed decode. */
std::string encode_error(decode_error const& failure);

/** The wire type of whichever message a variant holds, e.g. "webrtc_close". */
template <class... Ts> std::string_view type_name_of(std::variant<Ts...> const& message) noexcept
{
    return std::visit([](auto const& m) noexcept { return std::decay_t<decltype(m)>::type_name; }, message);
}

} // namespace relay::protocol
