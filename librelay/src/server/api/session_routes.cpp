// A device's WebRTC session history (contract section 4: "ended sessions are kept as history"):
// who watched, when, for how long, over which path and why it ended. docs/api.md describes it.
#include "server/api/api_common.hpp"
#include "server/api/routes.hpp"
#include "server/blocking.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/services.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value_from.hpp>

namespace relay::server {
namespace {

/** The most sessions one answer holds, and how many when `limit` is not given. */
constexpr std::int64_t max_sessions = 200;
constexpr std::int64_t default_sessions = 50;

/** A value the store may not have, as JSON: the value or null. */
template <class T> boost::json::value or_null(std::optional<T> const& v)
{
    if (!v)
        return nullptr;
    return boost::json::value_from(*v);
}

/** One session as GET /api/devices/{id}/sessions shows it: unix seconds, null for what is not
 * known (yet), `duration_s` from connected to ended, `live` while it has not ended. */
boost::json::object session_json(store::webrtc_session const& s)
{
    boost::json::value duration = nullptr;
    if (s.connected_at && s.ended_at)
        duration = *s.ended_at - *s.connected_at;
    return boost::json::object{{"session_id", s.session_id},
                               {"user_id", s.user_id},
                               {"started_at", s.started_at},
                               {"connected_at", or_null(s.connected_at)},
                               {"ended_at", or_null(s.ended_at)},
                               {"duration_s", std::move(duration)},
                               {"connection_type", or_null(s.connection_type)},
                               {"rtt_ms", or_null(s.rtt_ms)},
                               {"end_reason", or_null(s.end_reason)},
                               {"live", !s.ended_at}};
}

// GET /api/devices/{id}/sessions?limit=N → [session…], newest first (any role): the owner sees
// everyone's sessions, an operator or a viewer only their own.
net::awaitable<http_response> list_sessions(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto const& device_id = ctx.param("id");
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::viewer);
    if (!caller) co_return caller.take_answer();
    auto limit = positive_param(ctx.query, "limit");
    if (!limit) co_return limit.take_answer();
    if (*limit && **limit > max_sessions)
        co_return error_response(errc::bad_message, "query parameter 'limit' must be 1 to 200");
    auto const n = static_cast<std::size_t>(limit->value_or(default_sessions));
    bool const everyone = caller->role == store::role::owner;
    auto sessions = co_await run_blocking(rt.blocking, [&] {
        return everyone ? rt.store->list_sessions(device_id, n)
                        : rt.store->list_user_sessions(device_id, caller->user_id, n);
    });
    if (!sessions)
        co_return store_failure(sessions.error(), errc::device_not_found);
    boost::json::array out;
    out.reserve(sessions->size());
    for (auto const& s : *sessions)
        out.push_back(session_json(s));
    co_return json_response(http::status::ok, out);
}

} // namespace

void add_session_routes(router& r, runtime& rt, auth_service& auth)
{
    r.add(http::verb::get, "/api/devices/{id}/sessions",
          [&rt, &auth](request_context& ctx) { return list_sessions(ctx, rt, auth); });
}

} // namespace relay::server
