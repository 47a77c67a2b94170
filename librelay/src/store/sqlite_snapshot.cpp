// Every row at once, out of and into SQLite: moving a deployment to another database
// (relayd db copy). Rows go as stored: hashes, sealed secrets and flags are never reinterpreted.
#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

#include <tuple>

namespace relay::store::detail {

result<snapshot> sqlite_store::export_snapshot()
{
    std::lock_guard lock(mutex_);
    // One read transaction: a relay writing meanwhile cannot make the tables disagree.
    auto tx = begin_read();
    if (!tx)
        return tx.error();
    snapshot rows;
    // rowid order is insertion order, which list_sessions uses to order sessions that started
    // in the same second; the other tables keep it too, so a copy reads like the original.
    auto users = read_rows("export_snapshot", "SELECT " RELAY_USER_COLUMNS " FROM users ORDER BY rowid", read_user);
    if (!users)
        return users.error();
    rows.users = std::move(*users);

    auto refresh = read_rows("export_snapshot",
                             "SELECT token_hash, family_id, user_id, issued_at, expires_at, used, revoked "
                             "FROM refresh_tokens ORDER BY rowid",
                             [](statement const& st) {
                                 return refresh_token{st.text(0),  st.text(1),       st.text(2),      st.int64(3),
                                                      st.int64(4), st.int64(5) != 0, st.int64(6) != 0};
                             });
    if (!refresh)
        return refresh.error();
    rows.refresh_tokens = std::move(*refresh);

    auto reset = read_rows(
        "export_snapshot", "SELECT token_hash, user_id, expires_at, used FROM reset_tokens ORDER BY rowid",
        [](statement const& st) { return reset_token{st.text(0), st.text(1), st.int64(2), st.int64(3) != 0}; });
    if (!reset)
        return reset.error();
    rows.reset_tokens = std::move(*reset);

    auto devices =
        read_rows("export_snapshot", "SELECT " RELAY_DEVICE_COLUMNS " FROM devices d ORDER BY d.rowid", read_device);
    if (!devices)
        return devices.error();
    rows.devices = std::move(*devices);

    bool damaged = false;
    auto members = each_row(
        "export_snapshot", "SELECT device_id, user_id, role FROM memberships ORDER BY device_id, user_id",
        [&](statement const& st) {
            // The CHECK constraint keeps roles in 1..3; anything else is a damaged file.
            if (auto r = role_from_number(st.int64(2)))
                rows.memberships.push_back(membership{st.text(0), st.text(1), *r});
            else
                damaged = true;
        });
    if (!members)
        return members.error();
    if (damaged) {
        log_->error("store.damaged_role", {{"operation", "export_snapshot"}});
        return errc::internal;
    }

    auto sessions = read_rows("export_snapshot", "SELECT " RELAY_SESSION_COLUMNS " FROM webrtc_sessions ORDER BY rowid",
                              read_session);
    if (!sessions)
        return sessions.error();
    rows.sessions = std::move(*sessions);

    if (auto r = tx->commit(); !r)
        return r.error();
    return rows;
}

result<void> sqlite_store::import_snapshot(snapshot const& rows, import_mode mode)
{
    std::lock_guard lock(mutex_);
    // One write transaction: every row or none, and no relay writes in between.
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    constexpr auto operation = "import_snapshot";
    if (mode == import_mode::into_empty) {
        auto occupied = exists(operation, "SELECT 1 FROM users UNION ALL SELECT 1 FROM devices "
                                          "UNION ALL SELECT 1 FROM refresh_tokens UNION ALL SELECT 1 FROM reset_tokens "
                                          "LIMIT 1");
        if (!occupied)
            return occupied.error();
        if (*occupied)
            return errc::forbidden;
    } else {
        // Children first, so no foreign key is ever left dangling.
        for (auto const* sql : {"DELETE FROM webrtc_sessions", "DELETE FROM memberships", "DELETE FROM reset_tokens",
                                "DELETE FROM refresh_tokens", "DELETE FROM devices", "DELETE FROM users"})
            if (auto r = exec(operation, sql); !r)
                return r.error();
    }

    // Each row of `table` inserted with `sql`, its values as `values(row)` gives them in order.
    auto insert_each = [&](auto const& table, std::string_view sql, auto values) -> result<void> {
        for (auto const& row : table)
            if (auto r = std::apply([&](auto const&... v) { return run(operation, sql, v...); }, values(row)); !r)
                return r;
        return {};
    };
    // Parents first; a row that refers to a missing parent fails its foreign key, and the whole
    // import with it.
    result<void> written = insert_each(
        rows.users, "INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
        [](user const& u) { return std::tie(u.id, u.email, u.password_hash, u.created_at); });
    if (written)
        written = insert_each(rows.refresh_tokens,
                              "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at, used, "
                              "revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              [](refresh_token const& t) {
                                  return std::tie(t.token_hash, t.family_id, t.user_id, t.issued_at, t.expires_at,
                                                  t.used, t.revoked);
                              });
    if (written)
        written = insert_each(rows.reset_tokens,
                              "INSERT INTO reset_tokens (token_hash, user_id, expires_at, used) VALUES (?, ?, ?, ?)",
                              [](reset_token const& t) { return std::tie(t.token_hash, t.user_id, t.expires_at, t.used); });
    if (written)
        written = insert_each(rows.devices,
                              "INSERT INTO devices (device_id, name, secret_sealed, created_at, last_seen, capabilities, "
                              "firmware, key_type, public_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              [](device const& d) {
                                  return std::tie(d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen,
                                                  d.capabilities, d.firmware, d.key_type, d.public_key);
                              });
    if (written)
        written = insert_each(rows.memberships, "INSERT INTO memberships (device_id, user_id, role) VALUES (?, ?, ?)",
                              [](membership const& m) { return std::tie(m.device_id, m.user_id, m.access); });
    if (written)
        written = insert_each(rows.sessions,
                              "INSERT INTO webrtc_sessions (session_id, device_id, user_id, started_at, connected_at, "
                              "ended_at, connection_type, end_reason, rtt_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              [](webrtc_session const& x) {
                                  return std::tie(x.session_id, x.device_id, x.user_id, x.started_at, x.connected_at,
                                                  x.ended_at, x.connection_type, x.end_reason, x.rtt_ms);
                              });
    if (!written)
        return written;
    return tx->commit();
}

} // namespace relay::store::detail
