// WebRTC session history on SQLite.
#include "store/backends.hpp"
#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

namespace relay::store::detail {

result<void> sqlite_store::insert_session(webrtc_session const& s)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    // Checked one by one: a foreign-key failure would not say which of the two is missing.
    auto device_known = exists("insert_session", "SELECT 1 FROM devices WHERE device_id = ?", s.device_id);
    if (!device_known)
        return device_known.error();
    if (!*device_known)
        return errc::device_not_found;
    auto user_known = exists("insert_session", "SELECT 1 FROM users WHERE id = ?", s.user_id);
    if (!user_known)
        return user_known.error();
    if (!*user_known)
        return errc::user_not_found;
    auto inserted = exec("insert_session",
                         "INSERT INTO webrtc_sessions (session_id, device_id, user_id, started_at, connected_at, "
                         "ended_at, connection_type, end_reason, rtt_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         s.session_id, s.device_id, s.user_id, s.started_at, s.connected_at, s.ended_at,
                         s.connection_type, s.end_reason, s.rtt_ms);
    if (!inserted)
        return inserted.error();
    return tx->commit();
}

result<void> sqlite_store::mark_session_connected(std::string_view session_id, unix_seconds at,
                                                  std::string_view connection_type,
                                                  std::optional<std::int64_t> rtt_ms)
{
    std::lock_guard lock(mutex_);
    // Both ends may report; the first report is when the session connected.
    auto changed = exec("mark_session_connected",
                        "UPDATE webrtc_sessions SET connected_at = COALESCE(connected_at, ?), connection_type = ?, "
                        "rtt_ms = COALESCE(?, rtt_ms) WHERE session_id = ?",
                        at, connection_type, rtt_ms, session_id);
    if (!changed)
        return changed.error();
    if (*changed == 0)
        return errc::session_not_found;
    return {};
}

result<void> sqlite_store::end_session(std::string_view session_id, unix_seconds at, std::string_view reason)
{
    std::lock_guard lock(mutex_);
    auto changed = exec("end_session",
                        "UPDATE webrtc_sessions SET ended_at = ?, end_reason = ? "
                        "WHERE session_id = ? AND ended_at IS NULL",
                        at, reason, session_id);
    if (!changed)
        return changed.error();
    if (*changed != 0)
        return {};
    // Nothing changed: either it ended already (fine, the first end stands) or it is unknown.
    auto known = exists("end_session", "SELECT 1 FROM webrtc_sessions WHERE session_id = ?", session_id);
    if (!known)
        return known.error();
    if (!*known)
        return errc::session_not_found;
    return {};
}

result<std::vector<webrtc_session>> sqlite_store::list_sessions(std::string_view device_id, std::size_t limit)
{
    std::lock_guard lock(mutex_);
    return read_rows("list_sessions",
                     "SELECT " RELAY_SESSION_COLUMNS " FROM webrtc_sessions WHERE device_id = ? "
                     "ORDER BY started_at DESC, rowid DESC LIMIT ?",
                     read_session, device_id, sql_limit(limit));
}

result<std::vector<webrtc_session>> sqlite_store::list_user_sessions(std::string_view device_id,
                                                                    std::string_view user_id, std::size_t limit)
{
    std::lock_guard lock(mutex_);
    return read_rows("list_user_sessions",
                     "SELECT " RELAY_SESSION_COLUMNS " FROM webrtc_sessions WHERE device_id = ? AND user_id = ? "
                     "ORDER BY started_at DESC, rowid DESC LIMIT ?",
                     read_session, device_id, user_id, sql_limit(limit));
}

result<std::size_t> sqlite_store::end_open_sessions(unix_seconds at, std::string_view reason)
{
    std::lock_guard lock(mutex_);
    auto changed = exec("end_open_sessions",
                        "UPDATE webrtc_sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL", at, reason);
    if (!changed)
        return changed.error();
    return static_cast<std::size_t>(*changed);
}

} // namespace relay::store::detail
