#include <relay/store/timed_store.hpp>

#include <relay/telemetry/metrics.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <string_view>
#include <type_traits>

namespace relay::store {
namespace {

// One entry per store operation; the names are the `op` label values.
enum class op : std::size_t {
    create_user, find_user_by_email, find_user_by_id, list_users, set_password_hash, delete_user,
    insert_refresh_token, consume_refresh_token, revoke_refresh_token, revoke_family, revoke_all_refresh_tokens,
    insert_reset_token, consume_reset_token,
    create_device, get_device, list_devices_for_user, role_of, rename_device, delete_device, set_device_secret,
    record_device_seen, list_devices, set_device_key,
    add_member, remove_member, list_members, users_with_access,
    insert_session, mark_session_connected, end_session, list_sessions, list_user_sessions, end_open_sessions,
    insert_audit, list_audit, prune_audit,
    check, export_snapshot, import_snapshot,
    count_
};

constexpr std::array<std::string_view, static_cast<std::size_t>(op::count_)> op_names = {
    "create_user", "find_user_by_email", "find_user_by_id", "list_users", "set_password_hash", "delete_user",
    "insert_refresh_token", "consume_refresh_token", "revoke_refresh_token", "revoke_family",
    "revoke_all_refresh_tokens",
    "insert_reset_token", "consume_reset_token",
    "create_device", "get_device", "list_devices_for_user", "role_of", "rename_device", "delete_device",
    "set_device_secret", "record_device_seen", "list_devices", "set_device_key",
    "add_member", "remove_member", "list_members", "users_with_access",
    "insert_session", "mark_session_connected", "end_session", "list_sessions", "list_user_sessions",
    "end_open_sessions",
    "insert_audit", "list_audit", "prune_audit",
    "check", "export_snapshot", "import_snapshot",
};

constexpr std::string_view duration_name = "relay_store_duration_seconds";
constexpr std::string_view duration_help = "Time a store call took, by operation.";
constexpr std::string_view errors_name = "relay_store_errors_total";
constexpr std::string_view errors_help = "Store calls that failed because of the database itself, by operation and code.";

class timed_store final : public store {
public:
    timed_store(std::unique_ptr<store> inner, telemetry::registry& metrics)
        : inner_(std::move(inner)), metrics_(metrics)
    {
    }

    result<user> create_user(std::string_view email, std::string_view password_hash, unix_seconds now) override
    {
        return timed(op::create_user, [&] { return inner_->create_user(email, password_hash, now); });
    }
    result<user> find_user_by_email(std::string_view email) override
    {
        return timed(op::find_user_by_email, [&] { return inner_->find_user_by_email(email); });
    }
    result<user> find_user_by_id(std::string_view user_id) override
    {
        return timed(op::find_user_by_id, [&] { return inner_->find_user_by_id(user_id); });
    }
    result<std::vector<user>> list_users() override
    {
        return timed(op::list_users, [&] { return inner_->list_users(); });
    }
    result<void> set_password_hash(std::string_view user_id, std::string_view password_hash) override
    {
        return timed(op::set_password_hash, [&] { return inner_->set_password_hash(user_id, password_hash); });
    }

    result<deleted_account> delete_user(std::string_view user_id) override
    {
        return timed(op::delete_user, [&] { return inner_->delete_user(user_id); });
    }

    result<void> insert_refresh_token(refresh_token const& token) override
    {
        return timed(op::insert_refresh_token, [&] { return inner_->insert_refresh_token(token); });
    }
    result<consumed_refresh_token> consume_refresh_token(std::string_view token_hash, unix_seconds now) override
    {
        return timed(op::consume_refresh_token, [&] { return inner_->consume_refresh_token(token_hash, now); });
    }
    result<std::optional<refresh_login>> revoke_refresh_token(std::string_view token_hash) override
    {
        return timed(op::revoke_refresh_token, [&] { return inner_->revoke_refresh_token(token_hash); });
    }
    result<void> revoke_family(std::string_view family_id) override
    {
        return timed(op::revoke_family, [&] { return inner_->revoke_family(family_id); });
    }
    result<void> revoke_all_refresh_tokens(std::string_view user_id) override
    {
        return timed(op::revoke_all_refresh_tokens, [&] { return inner_->revoke_all_refresh_tokens(user_id); });
    }

    result<void> insert_reset_token(reset_token const& token) override
    {
        return timed(op::insert_reset_token, [&] { return inner_->insert_reset_token(token); });
    }
    result<std::string> consume_reset_token(std::string_view token_hash, unix_seconds now) override
    {
        return timed(op::consume_reset_token, [&] { return inner_->consume_reset_token(token_hash, now); });
    }

    result<void> create_device(device const& d, std::string_view owner_user_id) override
    {
        return timed(op::create_device, [&] { return inner_->create_device(d, owner_user_id); });
    }
    result<device> get_device(std::string_view device_id) override
    {
        return timed(op::get_device, [&] { return inner_->get_device(device_id); });
    }
    result<std::vector<device_access>> list_devices_for_user(std::string_view user_id) override
    {
        return timed(op::list_devices_for_user, [&] { return inner_->list_devices_for_user(user_id); });
    }
    result<std::optional<role>> role_of(std::string_view user_id, std::string_view device_id) override
    {
        return timed(op::role_of, [&] { return inner_->role_of(user_id, device_id); });
    }
    result<void> rename_device(std::string_view device_id, std::string_view name) override
    {
        return timed(op::rename_device, [&] { return inner_->rename_device(device_id, name); });
    }
    result<void> delete_device(std::string_view device_id) override
    {
        return timed(op::delete_device, [&] { return inner_->delete_device(device_id); });
    }
    result<void> set_device_secret(std::string_view device_id, std::string_view secret_sealed) override
    {
        return timed(op::set_device_secret, [&] { return inner_->set_device_secret(device_id, secret_sealed); });
    }
    result<void> set_device_key(std::string_view device_id, std::string_view public_key) override
    {
        return timed(op::set_device_key, [&] { return inner_->set_device_key(device_id, public_key); });
    }
    result<void> record_device_seen(std::string_view device_id, unix_seconds last_seen,
                                    std::optional<std::string_view> capabilities,
                                    std::optional<std::string_view> firmware) override
    {
        return timed(op::record_device_seen,
                     [&] { return inner_->record_device_seen(device_id, last_seen, capabilities, firmware); });
    }
    result<std::vector<device>> list_devices() override
    {
        return timed(op::list_devices, [&] { return inner_->list_devices(); });
    }

    result<void> add_member(std::string_view device_id, std::string_view user_id, role r) override
    {
        return timed(op::add_member, [&] { return inner_->add_member(device_id, user_id, r); });
    }
    result<void> remove_member(std::string_view device_id, std::string_view user_id) override
    {
        return timed(op::remove_member, [&] { return inner_->remove_member(device_id, user_id); });
    }
    result<std::vector<member>> list_members(std::string_view device_id) override
    {
        return timed(op::list_members, [&] { return inner_->list_members(device_id); });
    }
    result<std::vector<user_access>> users_with_access(std::string_view device_id) override
    {
        return timed(op::users_with_access, [&] { return inner_->users_with_access(device_id); });
    }

    result<void> insert_session(webrtc_session const& s) override
    {
        return timed(op::insert_session, [&] { return inner_->insert_session(s); });
    }
    result<void> mark_session_connected(std::string_view session_id, unix_seconds at, std::string_view connection_type,
                                        std::optional<std::int64_t> rtt_ms) override
    {
        return timed(op::mark_session_connected,
                     [&] { return inner_->mark_session_connected(session_id, at, connection_type, rtt_ms); });
    }
    result<void> end_session(std::string_view session_id, unix_seconds at, std::string_view reason) override
    {
        return timed(op::end_session, [&] { return inner_->end_session(session_id, at, reason); });
    }
    result<std::vector<webrtc_session>> list_sessions(std::string_view device_id, std::size_t limit) override
    {
        return timed(op::list_sessions, [&] { return inner_->list_sessions(device_id, limit); });
    }
    result<std::vector<webrtc_session>> list_user_sessions(std::string_view device_id, std::string_view user_id,
                                                           std::size_t limit) override
    {
        return timed(op::list_user_sessions, [&] { return inner_->list_user_sessions(device_id, user_id, limit); });
    }
    result<std::size_t> end_open_sessions(unix_seconds at, std::string_view reason) override
    {
        return timed(op::end_open_sessions, [&] { return inner_->end_open_sessions(at, reason); });
    }

    result<void> insert_audit(audit_entry const& e) override
    {
        return timed(op::insert_audit, [&] { return inner_->insert_audit(e); });
    }
    result<std::vector<audit_entry>> list_audit(audit_query const& q) override
    {
        return timed(op::list_audit, [&] { return inner_->list_audit(q); });
    }
    result<std::size_t> prune_audit(std::int64_t before_ms) override
    {
        return timed(op::prune_audit, [&] { return inner_->prune_audit(before_ms); });
    }

    boost::system::result<void, health_problem> check() override
    {
        return timed(op::check, [&] { return inner_->check(); });
    }

    result<snapshot> export_snapshot() override
    {
        return timed(op::export_snapshot, [&] { return inner_->export_snapshot(); });
    }
    result<void> import_snapshot(snapshot const& rows, import_mode mode) override
    {
        return timed(op::import_snapshot, [&] { return inner_->import_snapshot(rows, mode); });
    }

private:
    // The series of one operation, looked up in the registry on first use and kept, so later
    // calls touch only atomics. Two threads racing on the first call get the same series.
    struct op_series {
        std::atomic<telemetry::histogram*> duration{nullptr};
        std::atomic<telemetry::counter*> unavailable{nullptr};
        std::atomic<telemetry::counter*> internal{nullptr};
    };

    template <class F> std::invoke_result_t<F&> timed(op o, F&& call)
    {
        auto start = std::chrono::steady_clock::now();
        auto r = call();
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        auto& s = series_[static_cast<std::size_t>(o)];
        duration_of(s, o).observe(seconds);
        if (r.has_error()) {
            auto const ec = code_of(r.error());
            if (ec == make_error_code(errc::unavailable))
                failures_of(s.unavailable, o, "unavailable").inc();
            else if (ec == make_error_code(errc::internal))
                failures_of(s.internal, o, "internal").inc();
        }
        return r;
    }

    // By value: result<T>::error() returns a copy, which a reference would outlive.
    static boost::system::error_code code_of(boost::system::error_code const& ec) noexcept { return ec; }
    static boost::system::error_code code_of(health_problem const& p) noexcept { return p.code; }

    telemetry::histogram& duration_of(op_series& s, op o)
    {
        auto* h = s.duration.load(std::memory_order_acquire);
        if (!h) {
            h = &metrics_.get_histogram(duration_name, duration_help,
                                        {{"op", std::string(op_names[static_cast<std::size_t>(o)])}});
            s.duration.store(h, std::memory_order_release);
        }
        return *h;
    }

    telemetry::counter& failures_of(std::atomic<telemetry::counter*>& slot, op o, std::string_view code)
    {
        auto* c = slot.load(std::memory_order_acquire);
        if (!c) {
            c = &metrics_.get_counter(errors_name, errors_help,
                                      {{"op", std::string(op_names[static_cast<std::size_t>(o)])},
                                       {"code", std::string(code)}});
            slot.store(c, std::memory_order_release);
        }
        return *c;
    }

    std::unique_ptr<store> const inner_;
    telemetry::registry& metrics_;
    std::array<op_series, static_cast<std::size_t>(op::count_)> series_;
};

} // namespace

std::unique_ptr<store> make_timed_store(std::unique_ptr<store> inner, telemetry::registry& metrics)
{
    return std::make_unique<timed_store>(std::move(inner), metrics);
}

} // namespace relay::store
