#pragma once
// Building HTTP answers: JSON bodies, the contract's error shape, small request helpers.
#include "server/net.hpp"

#include <relay/protocol/errc.hpp>

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace relay::server {

/** A JSON answer with the given status. */
http_response json_response(http::status status, boost::json::value const& body);

/** `{"error":{"code","message"}}` with the code's HTTP status (or `status` when given). */
http_response error_response(errc code, std::string_view message = {},
                             std::optional<http::status> status = std::nullopt);

/** An empty answer (204, 202…). */
http_response empty_response(http::status status);

/** The value of a query parameter, percent-decoded; nullopt when absent. */
std::optional<std::string> query_param(std::string_view query, std::string_view name);

/** Percent-decoding; nullopt on a malformed escape. `plus_is_space` for query strings. */
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

/**
 * Why a request's framing cannot be trusted, or empty (RFC 9112 6.1 and 6.3): a
 * Transfer-Encoding other than a single `chunked` (the only coding relayd reads), or one sent
 * together with Content-Length. Such a request is answered 400 and its connection closed: its
 * body would otherwise be read as the next request (request smuggling).
 */
std::string_view framing_problem(http::request_header<> const& req);

/**
 * Ends an HTTP connection after its last answer: stops sending, then reads and drops what the
 * peer still sends (a refused body, a request smuggled behind the first) until it closes, at most
 * 1 MiB or a second. Closing a socket with unread bytes resets the connection, which can destroy
 * the answer before the peer has read it (RFC 9112 §9.6).
 */
net::awaitable<void> close_after_answer(beast::tcp_stream& stream);

/** The token of an `Authorization: Bearer …` header, or empty. */
std::string_view bearer_token(http_request const& req);

} // namespace relay::server
