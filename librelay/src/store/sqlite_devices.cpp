// Devices and who may use them, on SQLite.
#include "store/sqlite_rows.hpp"
#include "store/sqlite_store.hpp"

namespace relay::store::detail {
namespace {

// Whether a device exists, for the operations on its members: an unknown device is told apart
// from an unknown member. Static, like a literal, because the statement cache keeps a view of it.
constexpr char const device_known_sql[] = "SELECT 1 FROM devices WHERE device_id = ?";

// The CHECK constraint keeps roles in 1..3; anything else would be a damaged file.
std::optional<role> read_role(statement const& st, int col)
{
    return role_from_number(st.int64(col));
}

/**
 * The row callback for each_row on a query whose column `role_col` holds a role: collects one T
 * per row, made by `make(statement, role)`. A role out of range (a damaged file) fails the list.
 */
template <class T> class rows_with_role {
public:
    rows_with_role(int role_col, T (*make)(statement const&, role)) : role_col_(role_col), make_(make) {}

    void operator()(statement const& st)
    {
        if (auto access = read_role(st, role_col_))
            rows_.push_back(make_(st, *access));
        else
            damaged_ = true;
    }

    /** The rows; the query's failure when `query` failed, errc::internal when a role was damaged. */
    result<std::vector<T>> take(result<void> const& query)
    {
        if (!query)
            return query.error();
        if (damaged_)
            return errc::internal;
        return std::move(rows_);
    }

private:
    int role_col_;
    T (*make_)(statement const&, role);
    std::vector<T> rows_;
    bool damaged_ = false;
};

} // namespace

result<void> sqlite_store::create_device(device const& d, std::string_view owner_user_id)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    auto device_row = insert("create_device",
                             {{SQLITE_CONSTRAINT_PRIMARYKEY, errc::device_exists},
                              {SQLITE_CONSTRAINT_UNIQUE, errc::device_exists}},
                             "INSERT INTO devices (device_id, name, secret_sealed, created_at, last_seen, "
                             "capabilities, firmware, key_type, public_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen, d.capabilities,
                             d.firmware, d.key_type, d.public_key);
    if (!device_row)
        return device_row;
    // The device was just inserted, so the user is the reference that can be missing.
    auto owner_row = insert("create_device", {{SQLITE_CONSTRAINT_FOREIGNKEY, errc::user_not_found}},
                            "INSERT INTO memberships (device_id, user_id, role) VALUES (?, ?, ?)", d.device_id,
                            owner_user_id, role::owner);
    if (!owner_row)
        return owner_row;
    return tx->commit();
}

result<device> sqlite_store::get_device(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    return read_row("get_device", errc::device_not_found,
                    "SELECT " RELAY_DEVICE_COLUMNS " FROM devices d WHERE d.device_id = ?", read_device, device_id);
}

result<std::vector<device_access>> sqlite_store::list_devices_for_user(std::string_view user_id)
{
    std::lock_guard lock(mutex_);
    rows_with_role<device_access> devices(
        9, [](statement const& st, role access) { return device_access{read_device(st), access}; });
    auto r = each_row("list_devices_for_user",
                      "SELECT " RELAY_DEVICE_COLUMNS ", m.role FROM memberships m "
                      "JOIN devices d ON d.device_id = m.device_id WHERE m.user_id = ? ORDER BY d.name, d.device_id",
                      devices, user_id);
    return devices.take(r);
}

result<std::optional<role>> sqlite_store::role_of(std::string_view user_id, std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    std::optional<role> found;
    bool damaged = false;
    auto r = one_row("role_of", "SELECT role FROM memberships WHERE user_id = ? AND device_id = ?",
                     [&](statement const& st) {
                         found = read_role(st, 0);
                         damaged = !found;
                     },
                     user_id, device_id);
    if (!r)
        return r.error();
    if (damaged)
        return errc::internal;
    return found;
}

result<void> sqlite_store::rename_device(std::string_view device_id, std::string_view name)
{
    std::lock_guard lock(mutex_);
    return change_row("rename_device", errc::device_not_found, "UPDATE devices SET name = ? WHERE device_id = ?", name,
                      device_id);
}

result<void> sqlite_store::delete_device(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    // Memberships and session history go with it (ON DELETE CASCADE).
    return change_row("delete_device", errc::device_not_found, "DELETE FROM devices WHERE device_id = ?", device_id);
}

result<void> sqlite_store::set_device_secret(std::string_view device_id, std::string_view secret_sealed)
{
    std::lock_guard lock(mutex_);
    return change_row("set_device_secret", errc::device_not_found,
                      "UPDATE devices SET secret_sealed = ?, key_type = 'secret', public_key = '' WHERE device_id = ?",
                      secret_sealed, device_id);
}

result<void> sqlite_store::set_device_key(std::string_view device_id, std::string_view public_key)
{
    std::lock_guard lock(mutex_);
    // The sealed secret goes in the same statement: no moment accepts both.
    return change_row("set_device_key", errc::device_not_found,
                      "UPDATE devices SET key_type = 'ed25519', public_key = ?, secret_sealed = '' WHERE device_id = ?",
                      public_key, device_id);
}

result<void> sqlite_store::record_device_seen(std::string_view device_id, unix_seconds last_seen,
                                              std::optional<std::string_view> capabilities,
                                              std::optional<std::string_view> firmware)
{
    std::lock_guard lock(mutex_);
    // A NULL parameter keeps the stored value: a robot that says nothing new erases nothing.
    return change_row("record_device_seen", errc::device_not_found,
                      "UPDATE devices SET last_seen = ?, capabilities = COALESCE(?, capabilities), "
                      "firmware = COALESCE(?, firmware) WHERE device_id = ?",
                      last_seen, capabilities, firmware, device_id);
}

result<std::vector<device>> sqlite_store::list_devices()
{
    std::lock_guard lock(mutex_);
    return read_rows("list_devices", "SELECT " RELAY_DEVICE_COLUMNS " FROM devices d ORDER BY d.device_id",
                     read_device);
}

result<void> sqlite_store::add_member(std::string_view device_id, std::string_view user_id, role r)
{
    if (r == role::owner)
        return errc::forbidden; // ownership is given by create_device only
    if (r != role::viewer && r != role::operator_)
        return errc::bad_message;
    std::lock_guard lock(mutex_);
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    if (auto known = require_row("add_member", errc::device_not_found, device_known_sql, device_id); !known)
        return known;
    if (auto known = require_row("add_member", errc::user_not_found, "SELECT 1 FROM users WHERE id = ?", user_id);
        !known)
        return known;
    auto is_owner = exists("add_member", "SELECT 1 FROM memberships WHERE device_id = ? AND user_id = ? AND role = ?",
                           device_id, user_id, role::owner);
    if (!is_owner)
        return is_owner.error();
    if (*is_owner)
        return errc::forbidden; // demoting the owner would leave the device without one
    auto upserted = run("add_member",
                        "INSERT INTO memberships (device_id, user_id, role) VALUES (?, ?, ?) "
                        "ON CONFLICT (device_id, user_id) DO UPDATE SET role = excluded.role",
                        device_id, user_id, r);
    if (!upserted)
        return upserted;
    return tx->commit();
}

result<void> sqlite_store::remove_member(std::string_view device_id, std::string_view user_id)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    if (auto known = require_row("remove_member", errc::device_not_found, device_known_sql, device_id); !known)
        return known;
    std::optional<std::int64_t> current;
    auto found = one_row("remove_member", "SELECT role FROM memberships WHERE device_id = ? AND user_id = ?",
                         [&](statement const& st) { current = st.int64(0); }, device_id, user_id);
    if (!found)
        return found.error();
    if (!current)
        return errc::user_not_found;
    if (*current == role_number(role::owner))
        return errc::forbidden;
    auto removed =
        run("remove_member", "DELETE FROM memberships WHERE device_id = ? AND user_id = ?", device_id, user_id);
    if (!removed)
        return removed;
    return tx->commit();
}

result<std::vector<member>> sqlite_store::list_members(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    // A read transaction: the device check and the list see the same state.
    auto tx = begin_read();
    if (!tx)
        return tx.error();
    if (auto known = require_row("list_members", errc::device_not_found, device_known_sql, device_id); !known)
        return known.error();
    rows_with_role<member> members(
        2, [](statement const& st, role access) { return member{st.text(0), st.text(1), access}; });
    auto r = each_row("list_members",
                      "SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id "
                      "WHERE m.device_id = ? ORDER BY m.role DESC, u.email",
                      members, device_id);
    auto listed = members.take(r);
    if (!listed)
        return listed;
    if (auto c = tx->commit(); !c)
        return c.error();
    return listed;
}

result<std::vector<user_access>> sqlite_store::users_with_access(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_read();
    if (!tx)
        return tx.error();
    if (auto known = require_row("users_with_access", errc::device_not_found, device_known_sql, device_id); !known)
        return known.error();
    rows_with_role<user_access> users(
        1, [](statement const& st, role access) { return user_access{st.text(0), access}; });
    auto r = each_row("users_with_access",
                      "SELECT user_id, role FROM memberships WHERE device_id = ? ORDER BY role DESC, user_id", users,
                      device_id);
    auto listed = users.take(r);
    if (!listed)
        return listed;
    if (auto c = tx->commit(); !c)
        return c.error();
    return listed;
}

} // namespace relay::store::detail

#undef RELAY_DEVICE_COLUMNS
