// The audit trail and account deletion on SQLite.
#include "store/backends.hpp"
#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

namespace relay::store::detail {

result<void> sqlite_store::insert_audit(audit_entry const& e)
{
    std::lock_guard lock(mutex_);
    return run("insert_audit",
               "INSERT INTO audit_log (at_ms, actor, action, device_id, target_user_id, client_address, detail) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               e.at_ms, e.actor, e.action, e.device_id, e.target_user_id, e.client_address, e.detail);
}

result<std::vector<audit_entry>> sqlite_store::list_audit(audit_query const& q)
{
    std::lock_guard lock(mutex_);
    auto const limit = sql_limit(q.limit);
    // One statement per kind of read, each able to use its index: a device's entries
    // (audit_log_device), a user's (audit_log_actor and audit_log_target), or everything.
    if (q.device_id)
        return read_rows("list_audit",
                         "SELECT " RELAY_AUDIT_COLUMNS " FROM audit_log WHERE device_id = ?1 "
                         "AND (?2 IS NULL OR actor = ?2 OR target_user_id = ?2) AND (?3 IS NULL OR at_ms >= ?3) "
                         "AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5",
                         read_audit, *q.device_id, q.user_id, q.since_ms, q.before_id, limit);
    if (q.user_id)
        return read_rows("list_audit",
                         "SELECT " RELAY_AUDIT_COLUMNS " FROM audit_log WHERE id IN "
                         "(SELECT id FROM audit_log WHERE actor = ?1 UNION SELECT id FROM audit_log "
                         "WHERE target_user_id = ?1) AND (?2 IS NULL OR at_ms >= ?2) AND (?3 IS NULL OR id < ?3) "
                         "ORDER BY id DESC LIMIT ?4",
                         read_audit, *q.user_id, q.since_ms, q.before_id, limit);
    return read_rows("list_audit",
                     "SELECT " RELAY_AUDIT_COLUMNS " FROM audit_log WHERE (?1 IS NULL OR at_ms >= ?1) "
                     "AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
                     read_audit, q.since_ms, q.before_id, limit);
}

result<std::size_t> sqlite_store::prune_audit(std::int64_t before_ms)
{
    std::lock_guard lock(mutex_);
    auto changed = exec("prune_audit", "DELETE FROM audit_log WHERE at_ms < ?", before_ms);
    if (!changed)
        return changed.error();
    return static_cast<std::size_t>(*changed);
}

result<deleted_account> sqlite_store::delete_user(std::string_view user_id)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    constexpr auto operation = "delete_user";
    deleted_account out;
    auto account = read_row(operation, errc::user_not_found, "SELECT " RELAY_USER_COLUMNS " FROM users WHERE id = ?",
                            read_user, user_id);
    if (!account)
        return account.error();
    out.account = std::move(*account);

    auto owned = read_rows(operation, "SELECT device_id FROM memberships WHERE user_id = ? AND role = ? ORDER BY device_id",
                           [](statement const& st) { return st.text(0); }, user_id, role::owner);
    if (!owned)
        return owned.error();
    for (auto& device_id : *owned) {
        auto users = read_rows(operation, "SELECT user_id FROM memberships WHERE device_id = ? ORDER BY role DESC, user_id",
                               [](statement const& st) { return st.text(0); }, device_id);
        if (!users)
            return users.error();
        out.devices.push_back(removed_device{std::move(device_id), std::move(*users)});
    }
    auto shared = read_rows(operation, "SELECT device_id FROM memberships WHERE user_id = ? AND role <> ? ORDER BY device_id",
                            [](statement const& st) { return st.text(0); }, user_id, role::owner);
    if (!shared)
        return shared.error();
    out.shared_devices = std::move(*shared);

    // Owned devices take their memberships and history with them (ON DELETE CASCADE); what
    // still refers to the user elsewhere goes next, then the user with its tokens (CASCADE).
    for (auto const& d : out.devices)
        if (auto r = run(operation, "DELETE FROM devices WHERE device_id = ?", d.device_id); !r)
            return r.error();
    for (auto const* sql : {"DELETE FROM memberships WHERE user_id = ?", "DELETE FROM webrtc_sessions WHERE user_id = ?",
                            "DELETE FROM users WHERE id = ?"})
        if (auto r = run(operation, sql, user_id); !r)
            return r.error();
    if (auto r = tx->commit(); !r)
        return r.error();
    return out;
}

} // namespace relay::store::detail
