#pragma once
// What every JSON API handler (routes_auth.cpp, routes_devices.cpp) needs: reading a JSON body
// field by field without throwing, the caller's bearer token, the caller's role on a device, and
// store failures turned into answers.
#include "server/net.hpp"

#include <relay/auth/jwt.hpp>
#include <relay/protocol/errc.hpp>
#include <relay/store/types.hpp>

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace relay::server {

struct runtime;
class auth_service;
struct request_context;

/**
 * A value, or the HTTP answer that explains why there is none; a handler returns that answer
 * unchanged (`if (!x) co_return x.take_answer();`). Lets helpers refuse input without throwing.
 */
template <class T> class or_answer {
public:
    or_answer(T value) : value_(std::move(value)) {}
    or_answer(http_response answer) : answer_(std::move(answer)) {}

    explicit operator bool() const noexcept { return value_.has_value(); }
    T& operator*() noexcept { return *value_; }
    T* operator->() noexcept { return &*value_; }

    /** The refusal; only meaningful when the object holds no value. */
    http_response take_answer() { return std::move(answer_); }

private:
    std::optional<T> value_;
    http_response answer_;
};

/** The request body as a JSON object: 400 BAD_JSON when it is not JSON, BAD_MESSAGE when it is
 * JSON but not an object. */
or_answer<boost::json::object> parse_json_object(http_request const& req);

/** A required string field; 400 BAD_MESSAGE naming the field when it is absent or not a string. */
or_answer<std::string> required_string(boost::json::object const& body, std::string_view field);

/** An optional string field: nullopt when absent or null; 400 BAD_MESSAGE naming the field when
 * it has another type. */
or_answer<std::optional<std::string>> optional_string(boost::json::object const& body, std::string_view field);

/** A positive integer query parameter; nullopt when absent, 400 BAD_MESSAGE naming it when it is
 * not a positive integer. */
or_answer<std::optional<std::int64_t>> positive_param(std::string_view query, std::string_view name);

/** The user id of the request's `Authorization: Bearer` access token; 401 UNAUTHORIZED when it is
 * missing or invalid, 401 TOKEN_EXPIRED when it has expired. */
or_answer<std::string> authenticate(auth_service const& auth, request_context const& ctx);

/** authenticate(), keeping every claim of the token (its login, `sid`, for a route that ends it). */
or_answer<auth::jwt_claims> authenticate_claims(auth_service const& auth, request_context const& ctx);

/**
 * The caller's role on `device_id`, checked against `needed`: 404 DEVICE_NOT_FOUND when the
 * device does not exist or the caller has no role on it (the same answer, so device ids cannot be
 * probed), 403 FORBIDDEN when the role is below `needed`. The store query runs on the blocking
 * pool.
 */
net::awaitable<or_answer<store::role>> require_role(runtime& rt, std::string const& user_id,
                                                    std::string const& device_id, store::role needed);

/** Who calls a /api/devices/{id}… route: the user, and their role on that device. */
struct device_caller {
    std::string user_id;
    store::role role;
};

/** The caller of a /api/devices/{id}… route, who must hold at least `needed` on the device:
 * authenticate(), then require_role() (401, then 404 or 403). */
net::awaitable<or_answer<device_caller>> authorize_device(request_context& ctx, runtime& rt, auth_service& auth,
                                                          store::role needed);

/** The answer for a store failure the handler has no specific answer for: 503 UNAVAILABLE when
 * the database is busy or unreachable, 500 INTERNAL otherwise (the store has logged why). */
http_response store_failure(boost::system::error_code ec);

/**
 * The answer for a store failure that may be `expected`, an error the client is told as it is
 * (DEVICE_NOT_FOUND when the device went away since the role check, EMAIL_TAKEN, …): that error
 * with its standard message; any other failure as store_failure(ec) answers it.
 */
http_response store_failure(boost::system::error_code ec, errc expected);

/** The wall clock in unix seconds, as the store keeps time. */
store::unix_seconds unix_now();

} // namespace relay::server
