#include "server/webrtc.hpp"

#include "server/services.hpp"

#include <relay/protocol/codec.hpp>

#include <cmath>

namespace relay::server {
namespace {

std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/** The session, when `link` is its `from` end. */
std::optional<routing::webrtc_session_view> session_of(live_service& live, std::string const& id, webrtc_end from,
                                                       void const* link)
{
    auto s = live.webrtc.find(id);
    if (!s)
        return std::nullopt;
    void const* end = from == webrtc_end::app ? static_cast<void const*>(s->app.lock().get())
                                              : static_cast<void const*>(s->robot.lock().get());
    if (end != link)
        return std::nullopt;
    return s;
}

/** Sends an offer, answer or candidate on to the session's other end. */
template <class Message>
bool forward_signal(runtime& rt, live_service& live, webrtc_end from, void const* link, Message const& m,
                    std::optional<routing::webrtc_phase> reached = std::nullopt)
{
    auto s = session_of(live, m.session_id, from, link);
    if (!s)
        return false;
    if (reached)
        live.webrtc.advance(m.session_id, *reached, std::chrono::steady_clock::now());
    auto frame = std::make_shared<std::string const>(protocol::encode(m));
    if (from == webrtc_end::app) {
        if (auto robot = s->robot.lock())
            robot->send(std::move(frame));
    } else if (auto app = s->app.lock()) {
        app->send(std::move(frame));
    }
    return true;
}

} // namespace

bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_offer const& m)
{
    // Offers come from robots (contract section 4); an app sending one is not a session end for it.
    return from == webrtc_end::robot && forward_signal(rt, live, from, link, m, routing::webrtc_phase::offered);
}

bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_answer const& m)
{
    return from == webrtc_end::app && forward_signal(rt, live, from, link, m, routing::webrtc_phase::answered);
}

bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_ice const& m)
{
    return forward_signal(rt, live, from, link, m);
}

bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_close const& m)
{
    if (!session_of(live, m.session_id, from, link))
        return false;
    if (auto s = live.webrtc.remove(m.session_id)) {
        bool by_app = from == webrtc_end::app;
        finish_webrtc_session(rt, live, *s, by_app ? protocol::closed_by::app : protocol::closed_by::robot,
                              m.reason.value_or(""), by_app ? notify::robot : notify::app);
    }
    return true;
}

bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_stats const& m)
{
    auto s = session_of(live, m.session_id, from, link);
    if (s)
        record_webrtc_stats(rt, live, *s, m);
    return s.has_value();
}

void record_webrtc_start(runtime& rt, live_service& live, routing::webrtc_session_view const& session)
{
    rt.metrics.webrtc_sessions.add();
    rt.metrics.registry.get_counter("relay_webrtc_sessions_started_total", "WebRTC sessions requested.").inc();
    if (session.replaces)
        rt.metrics.registry
            .get_counter("relay_webrtc_sessions_renewed_total",
                         "WebRTC sessions requested to replace a live one (make-before-break renewals).")
            .inc();
    store::webrtc_session row;
    row.session_id = session.session_id;
    row.device_id = session.device_id;
    row.user_id = session.user_id;
    row.started_at = unix_now();
    net::post(rt.store_writes, [st = &rt, row = std::move(row)] {
        if (auto r = st->store->insert_session(row); !r)
            st->log.warn("webrtc_history_failed", {{"session_id", row.session_id}, {"error", r.error().message()}});
    });
}

std::shared_ptr<std::string const> finish_webrtc_session(runtime& rt, live_service& live,
                                                         routing::webrtc_session_view const& session,
                                                         protocol::closed_by by, std::string const& reason, notify who)
{
    auto frame = std::make_shared<std::string const>(
        protocol::encode(protocol::webrtc_close_notice{session.session_id, reason, by}));
    if (who != notify::robot)
        if (auto app = session.app.lock())
            app->send(frame);
    if (who != notify::app)
        if (auto robot = session.robot.lock())
            robot->send(frame);
    if (session.mirror)
        return frame; // the app's node counts and records the session, once
    rt.metrics.webrtc_sessions.sub();
    rt.metrics.registry
        .get_counter("relay_webrtc_sessions_ended_total", "WebRTC sessions ended, by who ended them and why.",
                     {{"by", std::string(protocol::to_string(by))}, {"reason", reason.empty() ? "closed" : reason}})
        .inc();
    rt.log.info("webrtc_session_ended", {{"session_id", session.session_id}, {"device_id", session.device_id},
                                         {"by", protocol::to_string(by)}, {"reason", reason}});
    net::post(rt.store_writes, [st = &rt, id = session.session_id, reason, by] {
        std::string why = reason.empty() ? "closed_by_" + std::string(protocol::to_string(by)) : reason;
        if (auto r = st->store->end_session(id, unix_now(), why); !r)
            st->log.warn("webrtc_history_failed", {{"session_id", id}, {"error", r.error().message()}});
    });
    return frame;
}

void record_webrtc_stats(runtime& rt, live_service& live, routing::webrtc_session_view const& session,
                         protocol::webrtc_stats const& stats)
{
    if (session.mirror) {
        // Recorded where the session's history is, on its app's node.
        if (live.cross_node)
            live.cross_node->forward_stats(session, stats);
        return;
    }
    auto now = std::chrono::steady_clock::now();
    if (stats.state == protocol::stats_state::failed) {
        rt.metrics.registry
            .get_counter("relay_webrtc_failures_total", "WebRTC sessions whose ends reported failure.",
                         {{"reason", "ice_failed"}})
            .inc();
        return;
    }
    bool first = session.phase != routing::webrtc_phase::connected;
    // Both ends report and the first counts, except that "relay" from either end wins: media
    // through a TURN server on one side is relayed, though the other end may see that server's
    // address only as a peer-reflexive candidate (aiortc behind a relay-only browser reports
    // "host"), and its report may come first.
    bool relayed_later = !first && stats.connection_type == protocol::connection_type::relay &&
                         session.connection_type != protocol::connection_type::relay;
    live.webrtc.advance(session.session_id, routing::webrtc_phase::connected, now,
                        first || relayed_later ? stats.connection_type : std::nullopt);
    if (relayed_later) {
        std::optional<std::int64_t> rtt;
        if (stats.rtt_ms)
            rtt = std::llround(*stats.rtt_ms);
        net::post(rt.store_writes, [st = &rt, id = session.session_id, rtt] {
            if (auto r = st->store->mark_session_connected(id, unix_now(), "relay", rtt); !r)
                st->log.warn("webrtc_history_failed", {{"session_id", id}, {"error", r.error().message()}});
        });
    }
    if (!first)
        return;
    auto type = stats.connection_type ? std::string(protocol::to_string(*stats.connection_type)) : std::string("unknown");
    rt.metrics.registry
        .get_histogram("relay_webrtc_time_to_connected_seconds", "From webrtc_request to the first connected report.")
        .observe(std::chrono::duration<double>(now - session.created).count());
    // relay = through TURN; host/srflx/prflx = direct.
    rt.metrics.registry
        .get_counter("relay_webrtc_connections_total", "Connected WebRTC sessions by ICE candidate type.",
                     {{"type", type}})
        .inc();
    // The decoder bounds rtt_ms (0 to protocol::max_rtt_ms), so it rounds to an int64 safely.
    std::optional<std::int64_t> rtt;
    if (stats.rtt_ms)
        rtt = std::llround(*stats.rtt_ms);
    net::post(rt.store_writes, [st = &rt, id = session.session_id, type, rtt] {
        if (auto r = st->store->mark_session_connected(id, unix_now(), type, rtt); !r)
            st->log.warn("webrtc_history_failed", {{"session_id", id}, {"error", r.error().message()}});
    });
}

} // namespace relay::server
