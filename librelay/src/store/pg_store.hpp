#pragma once
/** @file The PostgreSQL implementation of relay::store::store. */
#include "store/pg_pool.hpp"

#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

namespace relay::store::detail {

/**
 * The store on a pool of libpq connections. Threading: any number of callers at once, each on
 * its own pooled connection; consistency comes from PostgreSQL's transactions and row locks
 * (docs/store.md lists which operation locks what). `registry_mutex_` guards the statement
 * registry; `next_purge_` is atomic; everything else is set at open and then only read.
 */
class pg_store final : public store {
public:
    /** Connects to `url`, checks and migrates its schema as `options` says. */
    static boost::system::result<std::unique_ptr<store>, open_error> open(std::string_view url,
                                                                          store_options const& options);

    result<user> create_user(std::string_view email, std::string_view password_hash, unix_seconds now) override;
    result<user> find_user_by_email(std::string_view email) override;
    result<user> find_user_by_id(std::string_view user_id) override;
    result<std::vector<user>> list_users() override;
    result<void> set_password_hash(std::string_view user_id, std::string_view password_hash) override;
    result<deleted_account> delete_user(std::string_view user_id) override;

    result<void> insert_refresh_token(refresh_token const& token) override;
    result<consumed_refresh_token> consume_refresh_token(std::string_view token_hash, unix_seconds now) override;
    result<std::optional<refresh_login>> revoke_refresh_token(std::string_view token_hash) override;
    result<void> revoke_family(std::string_view family_id) override;
    result<void> revoke_all_refresh_tokens(std::string_view user_id) override;

    result<void> insert_reset_token(reset_token const& token) override;
    result<std::string> consume_reset_token(std::string_view token_hash, unix_seconds now) override;

    result<void> create_device(device const& d, std::string_view owner_user_id) override;
    result<device> get_device(std::string_view device_id) override;
    result<std::vector<device_access>> list_devices_for_user(std::string_view user_id) override;
    result<std::optional<role>> role_of(std::string_view user_id, std::string_view device_id) override;
    result<void> rename_device(std::string_view device_id, std::string_view name) override;
    result<void> delete_device(std::string_view device_id) override;
    result<void> set_device_secret(std::string_view device_id, std::string_view secret_sealed) override;
    result<void> set_device_key(std::string_view device_id, std::string_view public_key) override;
    result<void> record_device_seen(std::string_view device_id, unix_seconds last_seen,
                                    std::optional<std::string_view> capabilities,
                                    std::optional<std::string_view> firmware) override;
    result<std::vector<device>> list_devices() override;

    result<void> add_member(std::string_view device_id, std::string_view user_id, role r) override;
    result<void> remove_member(std::string_view device_id, std::string_view user_id) override;
    result<std::vector<member>> list_members(std::string_view device_id) override;
    result<std::vector<user_access>> users_with_access(std::string_view device_id) override;

    result<void> insert_session(webrtc_session const& s) override;
    result<void> mark_session_connected(std::string_view session_id, unix_seconds at,
                                        std::string_view connection_type,
                                        std::optional<std::int64_t> rtt_ms) override;
    result<void> end_session(std::string_view session_id, unix_seconds at, std::string_view reason) override;
    result<std::vector<webrtc_session>> list_sessions(std::string_view device_id, std::size_t limit) override;
    result<std::vector<webrtc_session>> list_user_sessions(std::string_view device_id, std::string_view user_id,
                                                           std::size_t limit) override;
    result<std::size_t> end_open_sessions(unix_seconds at, std::string_view reason) override;

    result<void> insert_audit(audit_entry const& e) override;
    result<std::vector<audit_entry>> list_audit(audit_query const& q) override;
    result<std::size_t> prune_audit(std::int64_t before_ms) override;

    boost::system::result<void, health_problem> check() override;

    result<snapshot> export_snapshot() override;
    result<void> import_snapshot(snapshot const& rows, import_mode mode) override;

private:
    /** A SQLSTATE (and optionally a constraint) that an operation answers with its own errc
     * instead of logging it as a failure. */
    struct on_sqlstate {
        char const* sqlstate;
        errc answer;
        char const* constraint = nullptr;
    };

    /** Why an attempt failed, for the retry loop. */
    enum class retry { none, conflict, reconnect };

    /**
     * One try of an operation on a lent connection: runs statements, maps and logs failures,
     * and rolls back an unfinished transaction when destroyed.
     */
    class attempt {
    public:
        attempt(pg_store& s, pg::pool::lease& conn, std::string_view operation) noexcept
            : store_(s), conn_(conn), operation_(operation)
        {
        }
        ~attempt();
        attempt(attempt const&) = delete;
        attempt& operator=(attempt const&) = delete;

        /** Runs a prepared statement (`sql` a string literal) and returns its rows. */
        result<pg::rows> run(char const* sql, std::initializer_list<pg::param> params = {},
                             std::initializer_list<on_sqlstate> expected = {});
        /** Runs a statement and returns how many rows it changed. */
        result<std::int64_t> change(char const* sql, std::initializer_list<pg::param> params = {},
                                    std::initializer_list<on_sqlstate> expected = {});
        /** Runs an UPDATE or DELETE that must change a row; `missing` when it changed none. */
        result<void> change_one(errc missing, char const* sql, std::initializer_list<pg::param> params);
        /** Fails with `missing` unless a query returns a row. */
        result<void> require_row(errc missing, char const* sql, std::initializer_list<pg::param> params);
        /** Starts a transaction (`sql`: BEGIN with its isolation level). */
        result<void> begin(char const* sql = "BEGIN");
        result<void> commit();

        retry wants_retry() const noexcept { return retry_; }
        std::string const& last_message() const noexcept { return last_message_; }

    private:
        boost::system::error_code fail(pg::failure const& why, std::initializer_list<on_sqlstate> expected);

        pg_store& store_;
        pg::pool::lease& conn_;
        std::string_view operation_;
        bool in_transaction_ = false;
        bool maybe_committed_ = false; // a write may have reached the server outside a transaction
        bool committing_ = false;
        retry retry_ = retry::none;
        std::string last_message_;
    };

    pg_store(pg::server_address address, store_options const& options);

    /**
     * Runs `body(attempt&)` (which returns a result) on a pooled connection: again up to three
     * times after a serialization failure or deadlock, and once on a fresh connection when the
     * connection was lost before anything could have been committed.
     */
    template <class F> auto with_retries(std::string_view operation, F&& body) -> std::invoke_result_t<F&, attempt&>
    {
        int conflicts = 0;
        bool reconnected = false;
        for (;;) {
            std::string why;
            auto lease = pool_.acquire(why);
            if (!lease) {
                log_->debug("store.postgresql_unavailable",
                            {{"operation", operation}, {"message", std::string_view(why)}});
                return lease.error();
            }
            retry again = retry::none;
            auto r = [&] {
                attempt a(*this, *lease, operation);
                auto out = body(a);
                again = out ? retry::none : a.wants_retry();
                return out;
            }();
            if (again == retry::reconnect)
                lease->discard(true);
            if (again == retry::conflict && ++conflicts <= 3)
                continue;
            if (again == retry::reconnect && !reconnected) {
                reconnected = true;
                continue;
            }
            return r;
        }
    }

    /** The registry index of a statement; the same text always gets the same one. */
    std::size_t statement_id(char const* sql);

    /** Deletes expired tokens, at most once a minute of the callers' clock. */
    result<void> purge_expired(unix_seconds now);
    /** The user a query by one key finds; `missing` when none. */
    result<user> find_user(std::string_view operation, char const* sql, std::string_view key);
    /** The members of a device a query lists (one row per member, the role in `role_col`), each
     * made by `make(rows, i, role)`; errc::device_not_found when the query finds no device.
     * Defined in pg_devices.cpp, its only user. */
    template <class T, class Make>
    result<std::vector<T>> members_by_role(std::string_view operation, char const* sql, std::string_view device_id,
                                           int role_col, Make make);
    /** Locks a device's row (errc::device_not_found when absent): membership changes of one
     * device, and its deletion, happen one after the other. */
    result<void> lock_device(attempt& a, std::string_view device_id);
    /** Locks a user's row: every change to its refresh tokens holds it, so a rotation, a reuse
     * detection and a logout of the same user happen one after the other. */
    result<void> lock_user(attempt& a, std::string_view user_id, errc missing);

    std::optional<telemetry::logger> fallback_log_; // used when the options name no logger
    telemetry::logger* log_;
    pg::pool pool_;

    std::mutex registry_mutex_; // guards statements_
    std::unordered_map<std::string_view, std::size_t> statements_; // keys are string literals
    std::atomic<unix_seconds> next_purge_{0};
};

} // namespace relay::store::detail
