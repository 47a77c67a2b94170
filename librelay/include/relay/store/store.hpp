#pragma once
/** @file
 * The store: everything the relay remembers across restarts, behind one abstract interface so
 * that callers do not know which database holds it (SQLite or PostgreSQL). See docs/store.md.
 */
#include <relay/protocol/errc.hpp>
#include <relay/store/types.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::telemetry {
class logger;
}

namespace relay::store {

/** A value or a relay::errc error code. */
template <class T> using result = boost::system::result<T>;

/** What store::check() found wrong: a code (errc::unavailable when the database refuses
 * service, errc::internal for anything else) and what failed, in words for /health. */
struct health_problem {
    boost::system::error_code code;
    std::string message;
};

/**
 * The relay's persistent state. Every operation is synchronous and may block on disk, so the
 * server calls it from a worker thread or pool, never from a network thread. Implementations
 * are safe to call from several threads at once. Nothing throws: failures are relay::errc codes
 * (the specific ones each operation names, or errc::unavailable when the database is busy or
 * unreachable and errc::internal for anything else; the database's own message is logged).
 */
class store {
public:
    virtual ~store() = default;
    store(store const&) = delete;
    store& operator=(store const&) = delete;

    // ---- users

    /**
     * Creates an account with a new random id. `email` must already be normalized.
     * errc::email_taken when an account has that email.
     */
    virtual result<user> create_user(std::string_view email, std::string_view password_hash,
                                     unix_seconds now) = 0;

    /** errc::user_not_found when no account has that (normalized) email. */
    virtual result<user> find_user_by_email(std::string_view email) = 0;

    /** errc::user_not_found when no account has that id. */
    virtual result<user> find_user_by_id(std::string_view user_id) = 0;

    /** Every account, oldest first (administration). */
    virtual result<std::vector<user>> list_users() = 0;

    /** Replaces a password hash. errc::user_not_found when no account has that id. */
    virtual result<void> set_password_hash(std::string_view user_id, std::string_view password_hash) = 0;

    /**
     * Deletes an account and what only it gave meaning to, in one transaction: the devices it
     * owns (with their memberships and session history), its memberships of other devices, the
     * WebRTC sessions it opened, its refresh and reset tokens. Its audit entries stay. Returns
     * what was removed, so the caller can end the live access that went with it.
     * errc::user_not_found when no account has that id.
     */
    virtual result<deleted_account> delete_user(std::string_view user_id) = 0;

    // ---- refresh tokens

    /**
     * Stores a new refresh token (`used` and `revoked` are ignored: a new token is neither).
     * errc::user_not_found for an unknown user; errc::unauthorized when the token's family has
     * been revoked meanwhile (a logout or reuse raced with this rotation). Also purges expired
     * tokens from time to time.
     */
    virtual result<void> insert_refresh_token(refresh_token const& token) = 0;

    /**
     * Exchanges a refresh token, atomically: a valid token is marked used and its user and
     * family are returned with refresh_outcome::rotated; a token that was used before revokes
     * its whole family and returns refresh_outcome::reuse_detected (the caller answers 401).
     * errc::unauthorized for an unknown, expired or revoked token.
     */
    virtual result<consumed_refresh_token> consume_refresh_token(std::string_view token_hash,
                                                                 unix_seconds now) = 0;

    /**
     * Revokes one token (logout) and returns the login it belongs to, so the caller can end
     * what that login opened; nullopt for an unknown token, which is not an error: logout is
     * idempotent.
     */
    virtual result<std::optional<refresh_login>> revoke_refresh_token(std::string_view token_hash) = 0;

    /** Revokes every token of a family (one login and all its rotations). */
    virtual result<void> revoke_family(std::string_view family_id) = 0;

    /** Revokes every refresh token of a user (password reset, "log out everywhere"). */
    virtual result<void> revoke_all_refresh_tokens(std::string_view user_id) = 0;

    // ---- password-reset tokens

    /** Stores a reset token (`used` is ignored). errc::user_not_found for an unknown user. */
    virtual result<void> insert_reset_token(reset_token const& token) = 0;

    /**
     * Uses a reset token once and returns its user id; every other outstanding reset token of
     * that user stops working too. errc::invalid_token when unknown, used or expired.
     */
    virtual result<std::string> consume_reset_token(std::string_view token_hash, unix_seconds now) = 0;

    // ---- devices

    /**
     * Registers a device and makes `owner_user_id` its owner, in one transaction.
     * errc::device_exists for a taken id; errc::user_not_found for an unknown owner.
     */
    virtual result<void> create_device(device const& d, std::string_view owner_user_id) = 0;

    /** errc::device_not_found when no device has that id. */
    virtual result<device> get_device(std::string_view device_id) = 0;

    /** Every device the user may access with the user's role, ordered by name. */
    virtual result<std::vector<device_access>> list_devices_for_user(std::string_view user_id) = 0;

    /** The user's role on the device; nullopt when none (or when either does not exist). */
    virtual result<std::optional<role>> role_of(std::string_view user_id, std::string_view device_id) = 0;

    /** errc::device_not_found when no device has that id. */
    virtual result<void> rename_device(std::string_view device_id, std::string_view name) = 0;

    /**
     * Deletes a device together with its memberships and its WebRTC session history, so a
     * later device with the same id starts clean. errc::device_not_found when absent.
     */
    virtual result<void> delete_device(std::string_view device_id) = 0;

    /** Replaces the sealed device secret (rotation); a device that had a public key goes back to
     * a secret and its key is dropped. errc::device_not_found when absent. */
    virtual result<void> set_device_secret(std::string_view device_id, std::string_view secret_sealed) = 0;

    /** Sets or replaces the device's Ed25519 public key (base64url text, as device::public_key)
     * and drops its sealed secret: from now on only the key authenticates. errc::device_not_found
     * when absent. */
    virtual result<void> set_device_key(std::string_view device_id, std::string_view public_key) = 0;

    /**
     * Records that the robot was seen; capabilities (JSON text) and firmware are replaced only
     * when given. errc::device_not_found when absent.
     */
    virtual result<void> record_device_seen(std::string_view device_id, unix_seconds last_seen,
                                            std::optional<std::string_view> capabilities = std::nullopt,
                                            std::optional<std::string_view> firmware = std::nullopt) = 0;

    /** Every device, ordered by id (administration). */
    virtual result<std::vector<device>> list_devices() = 0;

    // ---- members

    /**
     * Shares a device: gives `user_id` the viewer or operator role, or changes the role it has.
     * errc::forbidden when asked for the owner role or when the user is the owner (the owner is
     * never duplicated nor demoted); errc::device_not_found / errc::user_not_found when absent.
     */
    virtual result<void> add_member(std::string_view device_id, std::string_view user_id, role r) = 0;

    /**
     * Stops sharing a device with a user. errc::forbidden for the owner; errc::device_not_found
     * for an unknown device; errc::user_not_found when the user is not a member.
     */
    virtual result<void> remove_member(std::string_view device_id, std::string_view user_id) = 0;

    /** Everyone with a role on the device, owner first. errc::device_not_found when absent. */
    virtual result<std::vector<member>> list_members(std::string_view device_id) = 0;

    /** Who may receive the device's events. errc::device_not_found when absent. */
    virtual result<std::vector<user_access>> users_with_access(std::string_view device_id) = 0;

    // ---- WebRTC session history

    /**
     * Records a session that has just been requested (only id, device, user and started_at are
     * read). errc::device_not_found / errc::user_not_found when absent.
     */
    virtual result<void> insert_session(webrtc_session const& s) = 0;

    /**
     * Records a `connected` report: the first report sets connected_at; the connection type and
     * round-trip time are updated by every report. errc::session_not_found when absent.
     */
    virtual result<void> mark_session_connected(std::string_view session_id, unix_seconds at,
                                                std::string_view connection_type,
                                                std::optional<std::int64_t> rtt_ms = std::nullopt) = 0;

    /**
     * Ends a session. Ending an ended session keeps the first end (both sides may report it).
     * errc::session_not_found when absent.
     */
    virtual result<void> end_session(std::string_view session_id, unix_seconds at, std::string_view reason) = 0;

    /** A device's sessions, newest first, at most `limit`. */
    virtual result<std::vector<webrtc_session>> list_sessions(std::string_view device_id, std::size_t limit) = 0;

    /**
     * The sessions `user_id` opened on a device, newest first, at most `limit` (what a member who
     * does not own the device may see of its history). The default filters list_sessions() of the
     * whole history, so a store written before this existed keeps working; the built-in backends
     * filter in their query.
     */
    virtual result<std::vector<webrtc_session>> list_user_sessions(std::string_view device_id,
                                                                   std::string_view user_id, std::size_t limit);

    /**
     * Ends every session that has no end yet and returns how many; at start-up, after a crash,
     * no session of a previous run can still be alive.
     */
    virtual result<std::size_t> end_open_sessions(unix_seconds at, std::string_view reason) = 0;

    // ---- audit trail

    /** Appends an entry (its `id` is ignored: the store numbers entries in insertion order). */
    virtual result<void> insert_audit(audit_entry const& e) = 0;

    /** The entries matching `q`, newest (highest id) first, at most `q.limit`. */
    virtual result<std::vector<audit_entry>> list_audit(audit_query const& q) = 0;

    /** Deletes the entries older than `before_ms` (retention) and returns how many. */
    virtual result<std::size_t> prune_audit(std::int64_t before_ms) = 0;

    // ---- health

    /**
     * For GET /health: whether the store can still read and write, with a cheap write (a
     * one-row upsert in its own transaction), so a full disk or a database that became read-only
     * shows here and not only when a user's login fails. A database file also must still be the
     * file that was opened (deleted or replaced under the relay is a failure: its writes would
     * be lost at the next restart). A failure says what failed, for an operator.
     */
    virtual boost::system::result<void, health_problem> check() = 0;

    // ---- copying a deployment (relayd db copy)

    /** Every row, read in one consistent transaction (see `snapshot`). */
    virtual result<snapshot> export_snapshot() = 0;

    /**
     * Writes every row of `rows` in one transaction: all of them or none. With
     * import_mode::into_empty, errc::forbidden when the store already holds a user, a device or
     * a token; with import_mode::replace, everything already there is deleted first.
     */
    virtual result<void> import_snapshot(snapshot const& rows, import_mode mode) = 0;

protected:
    store() = default;
};

/** How open_store behaves. */
struct store_options {
    /**
     * Where failures of the database itself are logged (with the database's own message); must
     * outlive the store. When null, the store logs warnings and errors to stderr.
     */
    telemetry::logger* log = nullptr;

    /** SQLite: how long a write waits for another process holding the database before
     * errc::unavailable. */
    int busy_timeout_ms = 5000;

    /** PostgreSQL: connections in the pool (RELAY_DATABASE_POOL); at least 1. */
    std::size_t pool_size = 4;

    /**
     * PostgreSQL: how long opening a connection may take before errc::unavailable (libpq's
     * connect_timeout, rounded up to whole seconds, at least 2); a URL's own connect_timeout wins.
     */
    std::chrono::milliseconds connect_timeout{3000};

    /** PostgreSQL: the statement_timeout of every connection; a statement running longer is
     * cancelled by the server and the call fails with errc::unavailable. */
    std::chrono::milliseconds statement_timeout{5000};

    /**
     * Whether open_store applies the migrations the database lacks (relayd serve, and admin
     * commands) or refuses such a database with a message naming `relayd db migrate`. Either way a
     * database whose schema is newer than this relay knows is refused.
     */
    bool migrate = true;
};

/** Why open_store failed: a code and a sentence for the operator who configured the location. */
struct open_error {
    boost::system::error_code code;
    std::string message;
};

/** Lets result<…, open_error>::value() throw; callers normally test the result instead. */
[[noreturn]] void throw_exception_from_error(open_error const& e, boost::source_location const& loc);

/**
 * Opens the store named by `location` (RELAY_DATABASE): a `postgresql://` or `postgres://` URL
 * (libpq's URI form) opens PostgreSQL; anything else is a SQLite file path or `:memory:`. The
 * schema is created and migrated as `options.migrate` says. The parent directory of a SQLite file
 * must exist. A message never contains a password: locations appear as redact_location shows them.
 */
boost::system::result<std::unique_ptr<store>, open_error> open_store(std::string_view location,
                                                                      store_options const& options = {});

/** Whether `location` names a PostgreSQL database (a postgresql:// or postgres:// URL). */
bool is_postgresql_location(std::string_view location) noexcept;

/**
 * `location` fit for a log line or a message: a PostgreSQL URL without its password and without
 * any query parameter whose value could be secret (only sslmode, connect_timeout and
 * application_name are kept); a SQLite path unchanged.
 */
std::string redact_location(std::string_view location);

// ---- schema migrations

/** One numbered migration step, as `relayd db status` shows it. */
struct schema_step {
    std::int64_t version = 0;
    std::string name;                     ///< what the step does, in a few words
    std::optional<std::int64_t> applied_at; ///< unix seconds; nullopt when pending or unknown
    bool applied = false;
};

/** Where a database's schema stands. */
struct schema_status {
    std::string backend;      ///< "sqlite" or "postgresql"
    std::int64_t current = 0; ///< the database's version; 0 for an empty database
    std::int64_t known = 0;   ///< the newest version this relay knows
    /** Every step this relay knows, and any applied step it does not know, by version. */
    std::vector<schema_step> steps;
};

/** Reads where the schema of `location` stands, changing nothing (a missing SQLite file is
 * not created: it reports version 0). */
boost::system::result<schema_status, open_error> read_schema_status(std::string_view location,
                                                                     store_options const& options = {});

/**
 * Applies the steps `location` lacks, each step with its record in one transaction, under a lock
 * that makes concurrent migrators wait for each other (SQLite: a write transaction; PostgreSQL:
 * an advisory lock), and returns the status after. A newer schema is refused.
 */
boost::system::result<schema_status, open_error> migrate_schema(std::string_view location,
                                                                 store_options const& options = {});

// ---- copying a deployment

/** How copy_store treats a target that is not empty. */
struct copy_options {
    import_mode mode = import_mode::into_empty;
};

/** How many rows copy_store copied, by kind. */
struct copy_report {
    std::size_t users = 0;
    std::size_t refresh_tokens = 0;
    std::size_t reset_tokens = 0;
    std::size_t devices = 0;
    std::size_t memberships = 0;
    std::size_t sessions = 0;
    std::size_t audit_entries = 0;
};

/**
 * Copies every row of the store at `from` into the store at `to` (both opened and migrated with
 * `options`) in one transaction on the target (`relayd db copy`). A non-empty target is refused
 * unless `copy.mode` is import_mode::replace.
 */
boost::system::result<copy_report, open_error> copy_store(std::string_view from, std::string_view to,
                                                          copy_options const& copy = {},
                                                          store_options const& options = {});

} // namespace relay::store
