#pragma once
// Building HTTP answers: JSON bodies, the contract's error shape, small request helpers.
#include "net.hpp"

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

/** The token of an `Authorization: Bearer …` header, or empty. */
std::string_view bearer_token(http_request const& req);

} // namespace relay::server
