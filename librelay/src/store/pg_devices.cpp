// Devices and who may use them, on PostgreSQL.
#include "store/pg_store.hpp"
#include "store/pg_records.hpp"

namespace relay::store::detail {
namespace {

/** One T per row, made by `make(rows, i, role)` from a row whose column `role_col` holds a role
 * (a NULL role, from the outer join of a device without members, makes none); a role out of
 * range (a damaged database) fails the list. */
template <class T, class Make> result<std::vector<T>> with_roles(pg::rows const& rows, int role_col, Make make)
{
    std::vector<T> out;
    for (int i = 0; i < rows.size(); ++i) {
        if (rows.is_null(i, role_col))
            continue;
        auto access = role_from_number(rows.int64(i, role_col));
        if (!access)
            return errc::internal;
        out.push_back(make(rows, i, *access));
    }
    return out;
}

} // namespace

result<void> pg_store::create_device(device const& d, std::string_view owner_user_id)
{
    return with_retries("create_device", [&](attempt& a) -> result<void> {
        if (auto r = a.begin(); !r)
            return r;
        if (auto r = a.run("INSERT INTO devices (device_id, name, secret_sealed, created_at, last_seen, "
                           "capabilities, firmware, key_type, public_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                           {d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen, d.capabilities,
                            d.firmware, d.key_type, d.public_key},
                           {{"23505", errc::device_exists}});
            !r)
            return r.error();
        // The device was just inserted, so the user is the reference that can be missing.
        if (auto r = a.run("INSERT INTO memberships (device_id, user_id, role) VALUES ($1, $2, $3)",
                           {d.device_id, owner_user_id, role::owner}, {{"23503", errc::user_not_found}});
            !r)
            return r.error();
        return a.commit();
    });
}

result<device> pg_store::get_device(std::string_view device_id)
{
    return with_retries("get_device", [&](attempt& a) -> result<device> {
        auto rows = a.run("SELECT " RELAY_PG_DEVICE_COLUMNS " FROM devices d WHERE d.device_id = $1", {device_id});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return errc::device_not_found;
        return pg::read_device(*rows, 0);
    });
}

result<std::vector<device_access>> pg_store::list_devices_for_user(std::string_view user_id)
{
    return with_retries("list_devices_for_user", [&](attempt& a) -> result<std::vector<device_access>> {
        auto rows = a.run("SELECT " RELAY_PG_DEVICE_COLUMNS ", m.role FROM memberships m "
                          "JOIN devices d ON d.device_id = m.device_id WHERE m.user_id = $1 "
                          "ORDER BY d.name, d.device_id",
                          {user_id});
        if (!rows)
            return rows.error();
        return with_roles<device_access>(*rows, 9, [](pg::rows const& r, int i, role access) {
            return device_access{pg::read_device(r, i), access};
        });
    });
}

result<std::optional<role>> pg_store::role_of(std::string_view user_id, std::string_view device_id)
{
    return with_retries("role_of", [&](attempt& a) -> result<std::optional<role>> {
        auto rows = a.run("SELECT role FROM memberships WHERE user_id = $1 AND device_id = $2", {user_id, device_id});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return std::optional<role>();
        auto access = role_from_number(rows->int64(0, 0));
        if (!access)
            return errc::internal;
        return access;
    });
}

result<void> pg_store::rename_device(std::string_view device_id, std::string_view name)
{
    return with_retries("rename_device", [&](attempt& a) -> result<void> {
        return a.change_one(errc::device_not_found,
                            "UPDATE devices SET name = $1 WHERE device_id = $2", {name, device_id});
    });
}

result<void> pg_store::delete_device(std::string_view device_id)
{
    return with_retries("delete_device", [&](attempt& a) -> result<void> {
        // Memberships and session history go with it (ON DELETE CASCADE), in the same statement.
        return a.change_one(errc::device_not_found, "DELETE FROM devices WHERE device_id = $1", {device_id});
    });
}

result<void> pg_store::set_device_secret(std::string_view device_id, std::string_view secret_sealed)
{
    return with_retries("set_device_secret", [&](attempt& a) -> result<void> {
        return a.change_one(errc::device_not_found,
                            "UPDATE devices SET secret_sealed = $1, key_type = 'secret', public_key = '' "
                            "WHERE device_id = $2",
                            {secret_sealed, device_id});
    });
}

result<void> pg_store::set_device_key(std::string_view device_id, std::string_view public_key)
{
    return with_retries("set_device_key", [&](attempt& a) -> result<void> {
        // The sealed secret goes in the same statement: no moment accepts both.
        return a.change_one(errc::device_not_found,
                            "UPDATE devices SET key_type = 'ed25519', public_key = $1, secret_sealed = '' "
                            "WHERE device_id = $2",
                            {public_key, device_id});
    });
}

result<void> pg_store::record_device_seen(std::string_view device_id, unix_seconds last_seen,
                                          std::optional<std::string_view> capabilities,
                                          std::optional<std::string_view> firmware)
{
    return with_retries("record_device_seen", [&](attempt& a) -> result<void> {
        // A NULL parameter keeps the stored value: a robot that says nothing new erases nothing.
        return a.change_one(errc::device_not_found,
                            "UPDATE devices SET last_seen = $1, capabilities = COALESCE($2, capabilities), "
                            "firmware = COALESCE($3, firmware) WHERE device_id = $4",
                            {last_seen, capabilities, firmware, device_id});
    });
}

result<std::vector<device>> pg_store::list_devices()
{
    return with_retries("list_devices", [&](attempt& a) -> result<std::vector<device>> {
        auto rows = a.run("SELECT " RELAY_PG_DEVICE_COLUMNS " FROM devices d ORDER BY d.device_id");
        if (!rows)
            return rows.error();
        return pg::read_all(*rows, pg::read_device);
    });
}

result<void> pg_store::add_member(std::string_view device_id, std::string_view user_id, role r)
{
    if (r == role::owner)
        return errc::forbidden; // ownership is given by create_device only
    if (r != role::viewer && r != role::operator_)
        return errc::bad_message;
    return with_retries("add_member", [&](attempt& a) -> result<void> {
        if (auto b = a.begin(); !b)
            return b;
        if (auto locked = lock_device(a, device_id); !locked)
            return locked;
        if (auto known = a.require_row(errc::user_not_found, "SELECT 1 FROM users WHERE id = $1", {user_id}); !known)
            return known;
        auto current = a.run("SELECT role FROM memberships WHERE device_id = $1 AND user_id = $2",
                             {device_id, user_id});
        if (!current)
            return current.error();
        if (!current->empty() && current->int64(0, 0) == role_number(role::owner))
            return errc::forbidden; // demoting the owner would leave the device without one
        if (auto u = a.run("INSERT INTO memberships (device_id, user_id, role) VALUES ($1, $2, $3) "
                           "ON CONFLICT (device_id, user_id) DO UPDATE SET role = excluded.role",
                           {device_id, user_id, r});
            !u)
            return u.error();
        return a.commit();
    });
}

result<void> pg_store::remove_member(std::string_view device_id, std::string_view user_id)
{
    return with_retries("remove_member", [&](attempt& a) -> result<void> {
        if (auto b = a.begin(); !b)
            return b;
        if (auto locked = lock_device(a, device_id); !locked)
            return locked;
        auto current = a.run("SELECT role FROM memberships WHERE device_id = $1 AND user_id = $2",
                             {device_id, user_id});
        if (!current)
            return current.error();
        if (current->empty())
            return errc::user_not_found;
        if (current->int64(0, 0) == role_number(role::owner))
            return errc::forbidden;
        if (auto d = a.run("DELETE FROM memberships WHERE device_id = $1 AND user_id = $2", {device_id, user_id}); !d)
            return d.error();
        return a.commit();
    });
}

template <class T, class Make>
result<std::vector<T>> pg_store::members_by_role(std::string_view operation, char const* sql,
                                                 std::string_view device_id, int role_col, Make make)
{
    return with_retries(operation, [&](attempt& a) -> result<std::vector<T>> {
        // One query, from the device outwards: the device check and the list see one snapshot,
        // and an unknown device is no row at all.
        auto rows = a.run(sql, {device_id});
        if (!rows)
            return rows.error();
        if (rows->empty())
            return errc::device_not_found;
        return with_roles<T>(*rows, role_col, make);
    });
}

result<std::vector<member>> pg_store::list_members(std::string_view device_id)
{
    return members_by_role<member>("list_members",
                                   "SELECT m.user_id, u.email, m.role FROM devices d "
                                   "LEFT JOIN memberships m ON m.device_id = d.device_id "
                                   "LEFT JOIN users u ON u.id = m.user_id "
                                   "WHERE d.device_id = $1 ORDER BY m.role DESC NULLS LAST, u.email",
                                   device_id, 2, [](pg::rows const& r, int i, role access) {
                                       return member{r.text(i, 0), r.text(i, 1), access};
                                   });
}

result<std::vector<user_access>> pg_store::users_with_access(std::string_view device_id)
{
    return members_by_role<user_access>("users_with_access",
                                        "SELECT m.user_id, m.role FROM devices d "
                                        "LEFT JOIN memberships m ON m.device_id = d.device_id "
                                        "WHERE d.device_id = $1 ORDER BY m.role DESC NULLS LAST, m.user_id",
                                        device_id, 1, [](pg::rows const& r, int i, role access) {
                                            return user_access{r.text(i, 0), access};
                                        });
}

} // namespace relay::store::detail

