#pragma once
/** @file The SQLite implementation of relay::store::store. */
#include "store/sqlite_statement.hpp"

#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace relay::store::detail {

/**
 * The store on one SQLite connection. Threading: every public operation takes `mutex_` for its
 * whole duration, so calls from several threads are serialized on this connection (the server
 * runs store calls on worker threads, never on network threads). Other processes on the same
 * file are handled by SQLite's locking: writes use BEGIN IMMEDIATE and wait up to
 * busy_timeout_ms, then fail with errc::unavailable.
 */
class sqlite_store final : public store {
public:
    /** Opens or creates the database at `location` (a path or ":memory:") and migrates it. */
    static boost::system::result<std::unique_ptr<store>, open_error> open(std::string_view location,
                                                                          store_options const& options);
    ~sqlite_store() override;

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
    /** A transaction on the connection; rolls back unless commit() succeeded. */
    class transaction {
    public:
        transaction(transaction&& other) noexcept : store_(std::exchange(other.store_, nullptr)) {}
        transaction& operator=(transaction&&) = delete;
        ~transaction();
        /** Commits; on failure the destructor rolls the transaction back. */
        result<void> commit();

    private:
        friend class sqlite_store;
        explicit transaction(sqlite_store* s) noexcept : store_(s) {}
        sqlite_store* store_; // null once committed or moved from
    };

    sqlite_store(sqlite3* db, store_options const& options);

    /** The statement for `sql` (a string literal), prepared once and cached. */
    result<statement> prepare(std::string_view sql);

    /** Starts a write transaction (BEGIN IMMEDIATE, so it never has to upgrade a read lock). */
    result<transaction> begin_write();
    /** Starts a read transaction, for a consistent view across several queries. */
    result<transaction> begin_read();
    result<transaction> begin(std::string_view sql, std::string_view operation);

    /** Logs the database's message for a failure and maps the code to errc. */
    boost::system::error_code fail(int rc, std::string_view operation);

    /** Runs a statement without rows; returns how many rows it changed. */
    template <class... Args>
    result<std::int64_t> exec(std::string_view operation, std::string_view sql, Args const&... args)
    {
        auto st = prepare(sql);
        if (!st)
            return st.error();
        st->bind(args...);
        int rc = st->step();
        if (rc != SQLITE_DONE)
            return fail(rc, operation);
        return sqlite3_changes64(db_);
    }

    /** Runs a query and calls `on_row(statement const&)` for every row. */
    template <class F, class... Args>
    result<void> each_row(std::string_view operation, std::string_view sql, F&& on_row, Args const&... args)
    {
        auto st = prepare(sql);
        if (!st)
            return st.error();
        st->bind(args...);
        for (;;) {
            int rc = st->step();
            if (rc == SQLITE_DONE)
                return {};
            if (rc != SQLITE_ROW)
                return fail(rc, operation);
            on_row(*st);
        }
    }

    /** Runs a query of at most one row; calls `on_row` for it and tells whether there was one. */
    template <class F, class... Args>
    result<bool> one_row(std::string_view operation, std::string_view sql, F&& on_row, Args const&... args)
    {
        // result<bool> needs the error spelled out: an error_code also converts to bool.
        auto st = prepare(sql);
        if (!st)
            return {boost::system::in_place_error, st.error()};
        st->bind(args...);
        int rc = st->step();
        if (rc == SQLITE_DONE)
            return false;
        if (rc != SQLITE_ROW)
            return {boost::system::in_place_error, fail(rc, operation)};
        on_row(*st);
        return true;
    }

    /** Whether a query returns a row. */
    template <class... Args>
    result<bool> exists(std::string_view operation, std::string_view sql, Args const&... args)
    {
        return one_row(operation, sql, [](statement const&) {}, args...);
    }

    /** Fails with `missing` (errc::device_not_found, …) unless a query returns a row. */
    template <class... Args>
    result<void> require_row(std::string_view operation, errc missing, std::string_view sql, Args const&... args)
    {
        auto found = exists(operation, sql, args...);
        if (!found)
            return found.error();
        if (!*found)
            return missing;
        return {};
    }

    /** The one row a query must find, made by `read(statement const&)`; `missing` when there is none. */
    template <class Read, class... Args>
    auto read_row(std::string_view operation, errc missing, std::string_view sql, Read read, Args const&... args)
        -> result<std::invoke_result_t<Read&, statement const&>>
    {
        std::optional<std::invoke_result_t<Read&, statement const&>> row;
        auto found = one_row(operation, sql, [&](statement const& st) { row = read(st); }, args...);
        if (!found)
            return found.error();
        if (!*found)
            return missing;
        return std::move(*row);
    }

    /** Every row of a query, each made by `read(statement const&)`. */
    template <class Read, class... Args>
    auto read_rows(std::string_view operation, std::string_view sql, Read read, Args const&... args)
        -> result<std::vector<std::invoke_result_t<Read&, statement const&>>>
    {
        std::vector<std::invoke_result_t<Read&, statement const&>> rows;
        auto r = each_row(operation, sql, [&](statement const& st) { rows.push_back(read(st)); }, args...);
        if (!r)
            return r.error();
        return rows;
    }

    /** Runs a statement without rows when how many rows it changed does not matter. */
    template <class... Args> result<void> run(std::string_view operation, std::string_view sql, Args const&... args)
    {
        auto changed = exec(operation, sql, args...);
        if (!changed)
            return changed.error();
        return {};
    }

    /** Runs an UPDATE or DELETE that must change a row; `missing` when it changed none. */
    template <class... Args>
    result<void> change_row(std::string_view operation, errc missing, std::string_view sql, Args const&... args)
    {
        auto changed = exec(operation, sql, args...);
        if (!changed)
            return changed.error();
        if (*changed == 0)
            return missing;
        return {};
    }

    /** A violated constraint (an extended code such as SQLITE_CONSTRAINT_UNIQUE) that an insert
     * answers with its own error instead of logging it as a failure. */
    struct on_constraint {
        int rc;
        errc answer;
    };

    /** Runs an INSERT; a violated constraint listed in `expected` is answered with its errc. */
    template <class... Args>
    result<void> insert(std::string_view operation, std::initializer_list<on_constraint> expected,
                        std::string_view sql, Args const&... args)
    {
        auto st = prepare(sql);
        if (!st)
            return st.error();
        st->bind(args...);
        int rc = st->step();
        for (auto const& c : expected)
            if (rc == c.rc)
                return c.answer;
        if (rc != SQLITE_DONE)
            return fail(rc, operation);
        return {};
    }

    /** Deletes expired tokens, at most once a minute of the callers' clock. */
    result<void> purge_expired(unix_seconds now);
    /** purge_expired(now), then begin_write(): how every refresh or reset token change starts. */
    result<transaction> begin_token_write(unix_seconds now);

    /** Connection settings and sanity checks before anything is written; `why` explains a failure. */
    result<void> configure(bool in_memory, std::string& why);
    /**
     * Applies the migration steps this database lacks, in one transaction, each with its row in
     * schema_migrations; when not `allowed`, a database that lacks steps is refused instead.
     */
    result<void> migrate(bool allowed, std::string& why);
    /** Reads an integer pragma such as user_version. */
    result<std::int64_t> pragma_int(std::string_view sql, std::string_view operation);

    /** Which file a path names (device and inode), to notice one deleted or replaced. */
    struct file_identity {
        std::uint64_t device = 0;
        std::uint64_t inode = 0;
        bool operator==(file_identity const&) const = default;
    };
    /** The identity of the file at `path`; nullopt with `why` set when there is none. */
    static std::optional<file_identity> identify(std::string const& path, std::string& why);

    std::optional<telemetry::logger> fallback_log_; // used when the options name no logger
    std::string path_;                         // the database file; empty for :memory:
    std::optional<file_identity> identity_;    // of path_ when it was opened
    telemetry::logger* log_;

    std::mutex mutex_; // guards everything below, and every use of the connection
    sqlite3* db_;
    std::unordered_map<std::string_view, sqlite3_stmt*> cache_; // keys are string literals
    unix_seconds next_purge_ = 0;
    std::string last_error_; // the database's message for the latest failure, for open()'s answer
};

} // namespace relay::store::detail
