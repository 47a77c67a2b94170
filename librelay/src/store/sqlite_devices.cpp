// Devices and who may use them, on SQLite.
#include "store/sqlite_store.hpp"

namespace relay::store::detail {
namespace {

// The columns read_device expects, in its order; a macro so each query stays one string literal
// (the statement cache is keyed by the literal).
#define RELAY_DEVICE_COLUMNS "d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen, d.capabilities, d.firmware"

device read_device(statement const& st)
{
    return device{st.text(0), st.text(1), st.text(2), st.int64(3), st.optional_int64(4), st.text(5),
                  st.optional_text(6)};
}

// The CHECK constraint keeps roles in 1..3; anything else would be a damaged file.
std::optional<role> read_role(statement const& st, int col)
{
    auto v = st.int64(col);
    if (v < static_cast<int>(role::viewer) || v > static_cast<int>(role::owner))
        return std::nullopt;
    return static_cast<role>(v);
}

} // namespace

result<void> sqlite_store::create_device(device const& d, std::string_view owner_user_id)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    {
        auto st = prepare("INSERT INTO devices (device_id, name, secret_sealed, created_at, last_seen, capabilities, "
                          "firmware) VALUES (?, ?, ?, ?, ?, ?, ?)");
        if (!st)
            return st.error();
        st->bind(d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen, d.capabilities, d.firmware);
        int rc = st->step();
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
            return errc::device_exists;
        if (rc != SQLITE_DONE)
            return fail(rc, "create_device");
    }
    {
        auto st = prepare("INSERT INTO memberships (device_id, user_id, role) VALUES (?, ?, ?)");
        if (!st)
            return st.error();
        st->bind(d.device_id, owner_user_id, role::owner);
        int rc = st->step();
        // The device was just inserted, so the user is the reference that can be missing.
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return errc::user_not_found;
        if (rc != SQLITE_DONE)
            return fail(rc, "create_device");
    }
    return tx->commit();
}

result<device> sqlite_store::get_device(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    device found;
    auto r = one_row("get_device", "SELECT " RELAY_DEVICE_COLUMNS " FROM devices d WHERE d.device_id = ?",
                     [&](statement const& st) { found = read_device(st); }, device_id);
    if (!r)
        return r.error();
    if (!*r)
        return errc::device_not_found;
    return found;
}

result<std::vector<device_access>> sqlite_store::list_devices_for_user(std::string_view user_id)
{
    std::lock_guard lock(mutex_);
    std::vector<device_access> devices;
    bool damaged = false;
    auto r = each_row("list_devices_for_user",
                      "SELECT " RELAY_DEVICE_COLUMNS ", m.role FROM memberships m "
                      "JOIN devices d ON d.device_id = m.device_id WHERE m.user_id = ? ORDER BY d.name, d.device_id",
                      [&](statement const& st) {
                          auto access = read_role(st, 7);
                          if (!access)
                              damaged = true;
                          else
                              devices.push_back(device_access{read_device(st), *access});
                      },
                      user_id);
    if (!r)
        return r.error();
    if (damaged)
        return errc::internal;
    return devices;
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
    auto changed = exec("rename_device", "UPDATE devices SET name = ? WHERE device_id = ?", name, device_id);
    if (!changed)
        return changed.error();
    if (*changed == 0)
        return errc::device_not_found;
    return {};
}

result<void> sqlite_store::delete_device(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    // Memberships and session history go with it (ON DELETE CASCADE).
    auto changed = exec("delete_device", "DELETE FROM devices WHERE device_id = ?", device_id);
    if (!changed)
        return changed.error();
    if (*changed == 0)
        return errc::device_not_found;
    return {};
}

result<void> sqlite_store::set_device_secret(std::string_view device_id, std::string_view secret_sealed)
{
    std::lock_guard lock(mutex_);
    auto changed =
        exec("set_device_secret", "UPDATE devices SET secret_sealed = ? WHERE device_id = ?", secret_sealed, device_id);
    if (!changed)
        return changed.error();
    if (*changed == 0)
        return errc::device_not_found;
    return {};
}

result<void> sqlite_store::record_device_seen(std::string_view device_id, unix_seconds last_seen,
                                              std::optional<std::string_view> capabilities,
                                              std::optional<std::string_view> firmware)
{
    std::lock_guard lock(mutex_);
    // A NULL parameter keeps the stored value: a robot that says nothing new erases nothing.
    auto changed = exec("record_device_seen",
                        "UPDATE devices SET last_seen = ?, capabilities = COALESCE(?, capabilities), "
                        "firmware = COALESCE(?, firmware) WHERE device_id = ?",
                        last_seen, capabilities, firmware, device_id);
    if (!changed)
        return changed.error();
    if (*changed == 0)
        return errc::device_not_found;
    return {};
}

result<std::vector<device>> sqlite_store::list_devices()
{
    std::lock_guard lock(mutex_);
    std::vector<device> devices;
    auto r = each_row("list_devices", "SELECT " RELAY_DEVICE_COLUMNS " FROM devices d ORDER BY d.device_id",
                      [&](statement const& st) { devices.push_back(read_device(st)); });
    if (!r)
        return r.error();
    return devices;
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
    auto device_known = exists("add_member", "SELECT 1 FROM devices WHERE device_id = ?", device_id);
    if (!device_known)
        return device_known.error();
    if (!*device_known)
        return errc::device_not_found;
    auto user_known = exists("add_member", "SELECT 1 FROM users WHERE id = ?", user_id);
    if (!user_known)
        return user_known.error();
    if (!*user_known)
        return errc::user_not_found;
    auto is_owner = exists("add_member", "SELECT 1 FROM memberships WHERE device_id = ? AND user_id = ? AND role = ?",
                           device_id, user_id, role::owner);
    if (!is_owner)
        return is_owner.error();
    if (*is_owner)
        return errc::forbidden; // demoting the owner would leave the device without one
    auto upserted = exec("add_member",
                         "INSERT INTO memberships (device_id, user_id, role) VALUES (?, ?, ?) "
                         "ON CONFLICT (device_id, user_id) DO UPDATE SET role = excluded.role",
                         device_id, user_id, r);
    if (!upserted)
        return upserted.error();
    return tx->commit();
}

result<void> sqlite_store::remove_member(std::string_view device_id, std::string_view user_id)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_write();
    if (!tx)
        return tx.error();
    auto device_known = exists("remove_member", "SELECT 1 FROM devices WHERE device_id = ?", device_id);
    if (!device_known)
        return device_known.error();
    if (!*device_known)
        return errc::device_not_found;
    std::optional<std::int64_t> current;
    auto found = one_row("remove_member", "SELECT role FROM memberships WHERE device_id = ? AND user_id = ?",
                         [&](statement const& st) { current = st.int64(0); }, device_id, user_id);
    if (!found)
        return found.error();
    if (!current)
        return errc::user_not_found;
    if (*current == static_cast<int>(role::owner))
        return errc::forbidden;
    auto removed =
        exec("remove_member", "DELETE FROM memberships WHERE device_id = ? AND user_id = ?", device_id, user_id);
    if (!removed)
        return removed.error();
    return tx->commit();
}

result<std::vector<member>> sqlite_store::list_members(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    // A read transaction: the device check and the list see the same state.
    auto tx = begin_read();
    if (!tx)
        return tx.error();
    auto device_known = exists("list_members", "SELECT 1 FROM devices WHERE device_id = ?", device_id);
    if (!device_known)
        return device_known.error();
    if (!*device_known)
        return errc::device_not_found;
    std::vector<member> members;
    bool damaged = false;
    auto r = each_row("list_members",
                      "SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id "
                      "WHERE m.device_id = ? ORDER BY m.role DESC, u.email",
                      [&](statement const& st) {
                          auto access = read_role(st, 2);
                          if (!access)
                              damaged = true;
                          else
                              members.push_back(member{st.text(0), st.text(1), *access});
                      },
                      device_id);
    if (!r)
        return r.error();
    if (damaged)
        return errc::internal;
    if (auto c = tx->commit(); !c)
        return c.error();
    return members;
}

result<std::vector<user_access>> sqlite_store::users_with_access(std::string_view device_id)
{
    std::lock_guard lock(mutex_);
    auto tx = begin_read();
    if (!tx)
        return tx.error();
    auto device_known = exists("users_with_access", "SELECT 1 FROM devices WHERE device_id = ?", device_id);
    if (!device_known)
        return device_known.error();
    if (!*device_known)
        return errc::device_not_found;
    std::vector<user_access> users;
    bool damaged = false;
    auto r = each_row("users_with_access",
                      "SELECT user_id, role FROM memberships WHERE device_id = ? ORDER BY role DESC, user_id",
                      [&](statement const& st) {
                          auto access = read_role(st, 1);
                          if (!access)
                              damaged = true;
                          else
                              users.push_back(user_access{st.text(0), *access});
                      },
                      device_id);
    if (!r)
        return r.error();
    if (damaged)
        return errc::internal;
    if (auto c = tx->commit(); !c)
        return c.error();
    return users;
}

} // namespace relay::store::detail

#undef RELAY_DEVICE_COLUMNS
