// WebRTC session history on PostgreSQL.
#include "store/backends.hpp"
#include "store/pg_records.hpp"
#include "store/pg_store.hpp"

namespace relay::store::detail {

result<void> pg_store::insert_session(webrtc_session const& s)
{
    return with_retries("insert_session", [&](attempt& a) -> result<void> {
        if (auto r = a.begin(); !r)
            return r;
        // Checked one by one: a foreign-key failure alone would not say which one is missing.
        if (auto known = a.require_row(errc::device_not_found, "SELECT 1 FROM devices WHERE device_id = $1",
                                       {s.device_id});
            !known)
            return known;
        if (auto known = a.require_row(errc::user_not_found, "SELECT 1 FROM users WHERE id = $1", {s.user_id}); !known)
            return known;
        // A device deleted between the check and the insert fails the device's foreign key.
        if (auto r = a.run("INSERT INTO webrtc_sessions (session_id, device_id, user_id, started_at, connected_at, "
                           "ended_at, connection_type, end_reason, rtt_ms) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                           {s.session_id, s.device_id, s.user_id, s.started_at, s.connected_at, s.ended_at,
                            s.connection_type, s.end_reason, s.rtt_ms},
                           {{"23503", errc::device_not_found, "webrtc_sessions_device_id_fkey"}});
            !r)
            return r.error();
        return a.commit();
    });
}

result<void> pg_store::mark_session_connected(std::string_view session_id, unix_seconds at,
                                              std::string_view connection_type, std::optional<std::int64_t> rtt_ms)
{
    return with_retries("mark_session_connected", [&](attempt& a) -> result<void> {
        // Both ends may report; the first report is when the session connected.
        return a.change_one(errc::session_not_found,
                            "UPDATE webrtc_sessions SET connected_at = COALESCE(connected_at, $1), "
                            "connection_type = $2, rtt_ms = COALESCE($3, rtt_ms) WHERE session_id = $4",
                            {at, connection_type, rtt_ms, session_id});
    });
}

result<void> pg_store::end_session(std::string_view session_id, unix_seconds at, std::string_view reason)
{
    return with_retries("end_session", [&](attempt& a) -> result<void> {
        auto changed = a.change("UPDATE webrtc_sessions SET ended_at = $1, end_reason = $2 "
                                "WHERE session_id = $3 AND ended_at IS NULL",
                                {at, reason, session_id});
        if (!changed)
            return changed.error();
        if (*changed != 0)
            return {};
        // Nothing changed: either it ended already (fine, the first end stands) or it is unknown.
        auto known = a.run("SELECT 1 FROM webrtc_sessions WHERE session_id = $1", {session_id});
        if (!known)
            return known.error();
        if (known->empty())
            return errc::session_not_found;
        return {};
    });
}

result<std::vector<webrtc_session>> pg_store::list_sessions(std::string_view device_id, std::size_t limit)
{
    return with_retries("list_sessions", [&](attempt& a) -> result<std::vector<webrtc_session>> {
        auto rows = a.run("SELECT " RELAY_PG_SESSION_COLUMNS " FROM webrtc_sessions WHERE device_id = $1 "
                          "ORDER BY started_at DESC, seq DESC LIMIT $2",
                          {device_id, sql_limit(limit)});
        if (!rows)
            return rows.error();
        return pg::read_all(*rows, pg::read_session);
    });
}

result<std::vector<webrtc_session>> pg_store::list_user_sessions(std::string_view device_id, std::string_view user_id,
                                                                std::size_t limit)
{
    return with_retries("list_user_sessions", [&](attempt& a) -> result<std::vector<webrtc_session>> {
        auto rows = a.run("SELECT " RELAY_PG_SESSION_COLUMNS " FROM webrtc_sessions WHERE device_id = $1 "
                          "AND user_id = $2 ORDER BY started_at DESC, seq DESC LIMIT $3",
                          {device_id, user_id, sql_limit(limit)});
        if (!rows)
            return rows.error();
        return pg::read_all(*rows, pg::read_session);
    });
}

result<std::size_t> pg_store::end_open_sessions(unix_seconds at, std::string_view reason)
{
    return with_retries("end_open_sessions", [&](attempt& a) -> result<std::size_t> {
        auto changed = a.change("UPDATE webrtc_sessions SET ended_at = $1, end_reason = $2 WHERE ended_at IS NULL",
                                {at, reason});
        if (!changed)
            return changed.error();
        return static_cast<std::size_t>(*changed);
    });
}

} // namespace relay::store::detail
