// The audit trail and account deletion on PostgreSQL.
#include "store/backends.hpp"
#include "store/pg_records.hpp"
#include "store/pg_store.hpp"

namespace relay::store::detail {
namespace {

/** The first column of every row, as text. */
std::vector<std::string> first_column(pg::rows const& r)
{
    return pg::read_all(r, [](pg::rows const& rows, int i) { return rows.text(i, 0); });
}

} // namespace

result<void> pg_store::insert_audit(audit_entry const& e)
{
    return with_retries("insert_audit", [&](attempt& a) -> result<void> {
        auto r = a.run("INSERT INTO audit_log (at_ms, actor, action, device_id, target_user_id, client_address, detail) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       {e.at_ms, e.actor, e.action, e.device_id, e.target_user_id, e.client_address, e.detail});
        if (!r)
            return r.error();
        return {};
    });
}

result<std::vector<audit_entry>> pg_store::list_audit(audit_query const& q)
{
    auto const limit = sql_limit(q.limit);
    return with_retries("list_audit", [&](attempt& a) -> result<std::vector<audit_entry>> {
        // One statement per kind of read, each able to use its index (as on SQLite).
        result<pg::rows> rows = q.device_id
            ? a.run("SELECT " RELAY_PG_AUDIT_COLUMNS " FROM audit_log WHERE device_id = $1 "
                    "AND ($2::text IS NULL OR actor = $2::text OR target_user_id = $2::text) "
                    "AND ($3::bigint IS NULL OR at_ms >= $3::bigint) AND ($4::bigint IS NULL OR id < $4::bigint) "
                    "ORDER BY id DESC LIMIT $5",
                    {*q.device_id, q.user_id, q.since_ms, q.before_id, limit})
            : q.user_id
            ? a.run("SELECT " RELAY_PG_AUDIT_COLUMNS " FROM audit_log WHERE id IN "
                    "(SELECT id FROM audit_log WHERE actor = $1 UNION SELECT id FROM audit_log WHERE target_user_id = $1) "
                    "AND ($2::bigint IS NULL OR at_ms >= $2::bigint) AND ($3::bigint IS NULL OR id < $3::bigint) "
                    "ORDER BY id DESC LIMIT $4",
                    {*q.user_id, q.since_ms, q.before_id, limit})
            : a.run("SELECT " RELAY_PG_AUDIT_COLUMNS " FROM audit_log WHERE ($1::bigint IS NULL OR at_ms >= $1::bigint) "
                    "AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3",
                    {q.since_ms, q.before_id, limit});
        if (!rows)
            return rows.error();
        return pg::read_all(*rows, pg::read_audit);
    });
}

result<std::size_t> pg_store::prune_audit(std::int64_t before_ms)
{
    return with_retries("prune_audit", [&](attempt& a) -> result<std::size_t> {
        auto changed = a.change("DELETE FROM audit_log WHERE at_ms < $1", {before_ms});
        if (!changed)
            return changed.error();
        return static_cast<std::size_t>(*changed);
    });
}

result<deleted_account> pg_store::delete_user(std::string_view user_id)
{
    return with_retries("delete_user", [&](attempt& a) -> result<deleted_account> {
        if (auto r = a.begin(); !r)
            return r.error();
        // The user's row locked first: a device created or shared meanwhile waits, then fails its
        // foreign key, instead of being left behind.
        auto account = a.run("SELECT " RELAY_PG_USER_COLUMNS " FROM users WHERE id = $1 FOR UPDATE", {user_id});
        if (!account)
            return account.error();
        if (account->empty())
            return errc::user_not_found;
        deleted_account out;
        out.account = pg::read_user(*account, 0);
        auto owned = a.run("SELECT device_id FROM memberships WHERE user_id = $1 AND role = $2 ORDER BY device_id "
                           "FOR UPDATE",
                           {user_id, role::owner});
        if (!owned)
            return owned.error();
        for (auto& device_id : first_column(*owned)) {
            auto users = a.run("SELECT user_id FROM memberships WHERE device_id = $1 ORDER BY role DESC, user_id",
                               {device_id});
            if (!users)
                return users.error();
            out.devices.push_back(removed_device{std::move(device_id), first_column(*users)});
        }
        auto shared = a.run("SELECT device_id FROM memberships WHERE user_id = $1 AND role <> $2 ORDER BY device_id",
                            {user_id, role::owner});
        if (!shared)
            return shared.error();
        out.shared_devices = first_column(*shared);
        // Owned devices take their memberships and history with them (ON DELETE CASCADE); what
        // still refers to the user elsewhere goes next, then the user with its tokens (CASCADE).
        for (auto const& d : out.devices)
            if (auto r = a.run("DELETE FROM devices WHERE device_id = $1", {d.device_id}); !r)
                return r.error();
        for (char const* sql : {"DELETE FROM memberships WHERE user_id = $1",
                                "DELETE FROM webrtc_sessions WHERE user_id = $1", "DELETE FROM users WHERE id = $1"})
            if (auto r = a.run(sql, {user_id}); !r)
                return r.error();
        if (auto r = a.commit(); !r)
            return r.error();
        return out;
    });
}

} // namespace relay::store::detail
