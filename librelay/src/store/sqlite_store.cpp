// Opening, configuring and migrating the SQLite database, and the plumbing every operation
// shares: the statement cache, transactions and error mapping. The operations themselves are in
// sqlite_accounts.cpp, sqlite_devices.cpp and sqlite_sessions.cpp.
#include "store/sqlite_store.hpp"

#include "store/backends.hpp"
#include "store/sqlite_schema.hpp"

#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <sys/stat.h>

namespace relay::store::detail {
namespace {

// Failures that go away when the database is reachable again are `unavailable` (503 on
// /health); everything else means a bug or a damaged database and is `internal`.
errc classify(int rc) noexcept
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
    case SQLITE_PERM:
        return errc::unavailable;
    default:
        return errc::internal;
    }
}

open_error make_open_error(errc code, std::string message)
{
    return open_error{make_error_code(code), std::move(message)};
}

std::int64_t known_schema_version() noexcept
{
    return sqlite_known_version();
}

/** The status of a database that has no step yet (`applied` false), or that received every step
 * just now and cannot be read again (`applied` true: an in-memory one). */
schema_status schema_of_empty_database(bool applied)
{
    schema_status status{"sqlite", applied ? known_schema_version() : 0, known_schema_version(), {}};
    for (auto const& step : sqlite_migrations())
        status.steps.push_back(
            schema_step{static_cast<std::int64_t>(status.steps.size() + 1), std::string(step.name), std::nullopt, applied});
    return status;
}

unix_seconds unix_now() noexcept
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

boost::system::result<std::unique_ptr<store>, open_error> sqlite_store::open(std::string_view location,
                                                                           store_options const& options)
{
    std::string const loc(location);
    bool const in_memory = location == ":memory:";
    if (location.empty())
        return make_open_error(errc::unavailable,
                               "the database location is empty; set it to a SQLite file path or :memory:");
    if (loc.find('\0') != std::string::npos)
        return make_open_error(errc::unavailable, "the database location contains a NUL character");
    if (!in_memory) {
        // SQLite would only say "unable to open database file"; say what is wrong instead.
        namespace fs = std::filesystem;
        std::error_code ec;
        fs::path const path(loc);
        fs::path const parent = path.parent_path();
        if (!parent.empty() && !fs::is_directory(parent, ec))
            return make_open_error(errc::unavailable, "cannot open the database '" + loc + "': the directory '" +
                                                          parent.string() + "' does not exist");
        if (fs::is_directory(path, ec))
            return make_open_error(errc::unavailable,
                                   "cannot open the database '" + loc + "': it is a directory, not a file");
        // Without migrating, a missing file could only become an empty, refused one: leave none.
        if (!options.migrate && !fs::exists(path, ec))
            return make_open_error(errc::internal, "cannot use the database '" + loc +
                                                       "': it does not exist; run `relayd db migrate` first");
    }

    sqlite3* db = nullptr;
    // NOMUTEX: the store's own mutex serializes every use of the connection.
    int const rc =
        sqlite3_open_v2(loc.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return make_open_error(classify(rc), "cannot open the database '" + loc + "': " + message);
    }

    std::unique_ptr<sqlite_store> s(new sqlite_store(db, options));
    std::string why;
    if (!in_memory) {
        std::string unknown; // no identity only skips that part of check()
        s->path_ = loc;
        s->identity_ = identify(loc, unknown);
    }
    if (auto r = s->configure(in_memory, why); !r)
        return make_open_error(r.error() == errc::unavailable ? errc::unavailable : errc::internal,
                               "cannot use the database '" + loc + "': " + why);
    // A new in-memory database cannot have been migrated by anyone else.
    if (auto r = s->migrate(options.migrate || in_memory, why); !r)
        return make_open_error(r.error() == errc::unavailable ? errc::unavailable : errc::internal,
                               "cannot migrate the database '" + loc + "': " + why);
    return std::unique_ptr<store>(std::move(s));
}

sqlite_store::sqlite_store(sqlite3* db, store_options const& options) : db_(db)
{
    if (options.log) {
        log_ = options.log;
    } else {
        fallback_log_.emplace(telemetry::log_level::warn);
        log_ = &*fallback_log_;
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    // Refuse writes that could corrupt the file (e.g. writable_schema), whatever SQL is run.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
}

sqlite_store::~sqlite_store()
{
    std::lock_guard lock(mutex_);
    for (auto& [sql, stmt] : cache_)
        sqlite3_finalize(stmt);
    cache_.clear();
    // The last connection to close checkpoints the WAL into the database file.
    if (int rc = sqlite3_close(db_); rc != SQLITE_OK)
        log_->error("store.close_failed", {{"code", rc}, {"message", std::string_view(sqlite3_errmsg(db_))}});
}

result<void> sqlite_store::configure(bool in_memory, std::string& why)
{
    std::lock_guard lock(mutex_);
    auto explain = [&](boost::system::error_code ec) {
        why = last_error_;
        return ec;
    };

    if (auto r = exec("configure", "PRAGMA foreign_keys = ON"); !r)
        return explain(r.error());
    // The relay deletes memberships and history through cascades, so they must really be on.
    auto fk = pragma_int("PRAGMA foreign_keys", "configure");
    if (!fk)
        return explain(fk.error());
    if (*fk != 1) {
        why = "this SQLite library does not enforce foreign keys";
        return errc::internal;
    }
    if (auto r = exec("configure", "PRAGMA trusted_schema = OFF"); !r)
        return explain(r.error());

    // Identify the file before writing anything to it: the first read also tells whether it is
    // a database at all.
    auto app_id = pragma_int("PRAGMA application_id", "configure");
    if (!app_id) {
        if (last_error_.find("not a database") != std::string::npos)
            why = "the file exists but is not a SQLite database";
        else
            why = last_error_;
        return app_id.error();
    }
    auto version = pragma_int("PRAGMA user_version", "configure");
    if (!version)
        return explain(version.error());
    std::int64_t tables = 0;
    auto counted = one_row(
        "configure", "SELECT count(*) FROM sqlite_schema", [&](statement const& st) { tables = st.int64(0); });
    if (!counted)
        return explain(counted.error());

    if (*app_id != 0 && *app_id != sqlite_application_id) {
        why = "it belongs to another application (application_id " + std::to_string(*app_id) + ")";
        return errc::internal;
    }
    if (*app_id == 0 && *version == 0 && tables > 0) {
        why = "it is a SQLite database of another application (it has tables but no relay schema)";
        return errc::internal;
    }
    if (*version > known_schema_version()) {
        why = newer_schema_message(*version, known_schema_version());
        return errc::internal;
    }

    if (!in_memory) {
        // WAL: readers do not block the writer, and a commit is one append to the log.
        std::string mode;
        auto r = one_row("configure", "PRAGMA journal_mode = WAL", [&](statement const& st) { mode = st.text(0); });
        if (!r)
            return explain(r.error());
        if (mode != "wal")
            log_->warn("store.wal_unavailable", {{"journal_mode", std::string_view(mode)}});
        // NORMAL is durable across crashes of the relay in WAL mode; a power cut may lose the
        // last commits but never corrupts the file.
        if (auto s = exec("configure", "PRAGMA synchronous = NORMAL"); !s)
            return explain(s.error());
    }
    return {};
}

result<void> sqlite_store::migrate(bool allowed, std::string& why)
{
    std::lock_guard lock(mutex_);
    // IMMEDIATE: two relays opening the same new file must not both apply the steps.
    auto tx = begin_write();
    if (!tx) {
        why = last_error_;
        return tx.error();
    }
    // Read again inside the transaction: another process may have migrated meanwhile.
    auto version = pragma_int("PRAGMA user_version", "migrate");
    if (!version) {
        why = last_error_;
        return version.error();
    }
    auto const steps = sqlite_migrations();
    auto const known = known_schema_version();
    if (*version > known) {
        why = newer_schema_message(*version, known);
        return errc::internal;
    }
    if (*version == known)
        return tx->commit();
    if (!allowed) {
        why = pending_schema_message(*version, known);
        return errc::internal;
    }

    auto const now = unix_now();
    for (auto v = *version; v < known; ++v) {
        auto const& step = steps[static_cast<std::size_t>(v)];
        char* message = nullptr;
        // Migration steps are fixed DDL from the code: no values, so no parameters needed.
        int rc = sqlite3_exec(db_, step.sql, nullptr, nullptr, &message);
        if (rc != SQLITE_OK) {
            why = "step to schema version " + std::to_string(v + 1) + " failed: " +
                  (message ? message : sqlite3_errstr(rc));
            sqlite3_free(message);
            log_->error("store.migration_failed", {{"version", v + 1}, {"message", std::string_view(why)}});
            return make_error_code(classify(rc));
        }
        // Once the table exists, each step records itself; the step that creates it records
        // the older ones, without a time when an older relay applied them.
        if (v + 1 < sqlite_migrations_table_version)
            continue;
        auto const first = v + 1 == sqlite_migrations_table_version ? 1 : v + 1;
        for (auto recorded = first; recorded <= v + 1; ++recorded) {
            std::optional<std::int64_t> applied_at;
            if (recorded > *version)
                applied_at = now;
            if (auto r = run("migrate", "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                             recorded, steps[static_cast<std::size_t>(recorded - 1)].name, applied_at);
                !r) {
                why = "recording schema version " + std::to_string(recorded) + " failed: " + last_error_;
                return r;
            }
        }
    }
    // PRAGMAs take no parameters; both numbers come from the code, never from input.
    std::string const stamp = "PRAGMA user_version = " + std::to_string(known) +
                              "; PRAGMA application_id = " + std::to_string(sqlite_application_id) + ";";
    char* message = nullptr;
    if (int rc = sqlite3_exec(db_, stamp.c_str(), nullptr, nullptr, &message); rc != SQLITE_OK) {
        why = std::string("recording the schema version failed: ") + (message ? message : sqlite3_errstr(rc));
        sqlite3_free(message);
        return make_error_code(classify(rc));
    }
    if (auto r = tx->commit(); !r) {
        why = last_error_;
        return r;
    }
    log_->info("store.migrated", {{"from_version", *version}, {"to_version", known}});
    return {};
}

result<std::int64_t> sqlite_store::pragma_int(std::string_view sql, std::string_view operation)
{
    std::int64_t value = 0;
    auto r = one_row(operation, sql, [&](statement const& st) { value = st.int64(0); });
    if (!r)
        return r.error();
    if (!*r) {
        last_error_ = std::string(sql) + " returned nothing";
        return errc::internal;
    }
    return value;
}

result<statement> sqlite_store::prepare(std::string_view sql)
{
    if (auto it = cache_.find(sql); it != cache_.end())
        return statement(it->second);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK)
        return fail(rc, "prepare");
    cache_.emplace(sql, stmt);
    return statement(stmt);
}

boost::system::error_code sqlite_store::fail(int rc, std::string_view operation)
{
    // After a failed bind the connection's message is about something older; use the code's text.
    last_error_ = sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    errc const code = classify(rc);
    log_->log(code == errc::unavailable ? telemetry::log_level::warn : telemetry::log_level::error,
              "store.sqlite_failed",
              {{"operation", operation}, {"code", rc}, {"message", std::string_view(last_error_)}});
    return make_error_code(code);
}

result<sqlite_store::transaction> sqlite_store::begin_write()
{
    return begin("BEGIN IMMEDIATE", "begin_write");
}

result<sqlite_store::transaction> sqlite_store::begin_read()
{
    return begin("BEGIN DEFERRED", "begin_read");
}

result<sqlite_store::transaction> sqlite_store::begin(std::string_view sql, std::string_view operation)
{
    if (auto r = exec(operation, sql); !r)
        return r.error();
    return transaction(this);
}

result<void> sqlite_store::transaction::commit()
{
    if (auto r = store_->exec("commit", "COMMIT"); !r)
        return r.error();
    store_ = nullptr;
    return {};
}

sqlite_store::transaction::~transaction()
{
    // SQLite may already have rolled back by itself after some failures (e.g. a full disk).
    if (!store_ || sqlite3_get_autocommit(store_->db_))
        return;
    if (auto r = store_->exec("rollback", "ROLLBACK"); !r)
        store_->log_->error("store.rollback_failed", {{"message", std::string_view(store_->last_error_)}});
}

result<void> sqlite_store::purge_expired(unix_seconds now)
{
    if (now < next_purge_)
        return {};
    if (auto r = exec("purge_expired", "DELETE FROM refresh_tokens WHERE expires_at <= ?", now); !r)
        return r.error();
    if (auto r = exec("purge_expired", "DELETE FROM reset_tokens WHERE expires_at <= ?", now); !r)
        return r.error();
    next_purge_ = now + 60;
    return {};
}

result<sqlite_store::transaction> sqlite_store::begin_token_write(unix_seconds now)
{
    if (auto r = purge_expired(now); !r)
        return r.error();
    return begin_write();
}

std::optional<sqlite_store::file_identity> sqlite_store::identify(std::string const& path, std::string& why)
{
    struct ::stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        why = std::strerror(errno);
        return std::nullopt;
    }
    return file_identity{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

boost::system::result<void, health_problem> sqlite_store::check()
{
    auto problem = [](boost::system::error_code code, std::string message) {
        return health_problem{code, std::move(message)};
    };
    std::lock_guard lock(mutex_);
    // The open connection keeps writing to a deleted or replaced file without an error, and the
    // next start would open (or create) whatever the path names then: both are failures now.
    if (identity_) {
        std::string why;
        auto now = identify(path_, why);
        if (!now) {
            log_->error("store.file_gone", {{"path", std::string_view(path_)}, {"error", std::string_view(why)}});
            return problem(make_error_code(errc::unavailable),
                           "the database file " + path_ + " is gone (" + why + "); restore it and restart");
        }
        if (*now != *identity_) {
            log_->error("store.file_replaced", {{"path", std::string_view(path_)}});
            return problem(make_error_code(errc::unavailable),
                           "the database file " + path_ + " was replaced by another file; restart to use it");
        }
    }
    if (sqlite3_db_readonly(db_, "main") == 1)
        return problem(make_error_code(errc::unavailable), "the database is read-only");
    // A real write in its own transaction: a full disk, a read-only file or a lost device fails
    // here as it would for a login.
    auto written = [&]() -> result<void> {
        auto tx = begin_write();
        if (!tx)
            return tx.error();
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
        // `checks` makes every check change the row: SQLite does not write an unchanged one.
        if (auto r = run("check", "INSERT INTO health (id, checked_at, checks) VALUES (1, ?, 1) "
                                  "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, "
                                  "checks = checks + 1",
                         static_cast<std::int64_t>(now));
            !r)
            return r;
        return tx->commit();
    }();
    if (!written)
        return problem(written.error(), "the database refuses writes: " + last_error_);
    auto version = pragma_int("PRAGMA user_version", "check");
    if (!version)
        return problem(version.error(), "the database cannot be read: " + last_error_);
    if (*version != known_schema_version()) {
        log_->error("store.schema_changed", {{"version", *version}, {"expected", known_schema_version()}});
        return problem(make_error_code(errc::internal), "the database schema changed to version " +
                                                            std::to_string(*version) + " under the relay");
    }
    return {};
}

} // namespace relay::store::detail

namespace relay::store::detail {

open_result open_sqlite(std::string_view location, store_options const& options)
{
    return sqlite_store::open(location, options);
}

status_result sqlite_schema_status(std::string_view location, store_options const& options)
{
    std::string const loc(location);
    // A new in-memory database, and a file that does not exist yet, are empty: nothing is
    // created to say so.
    std::error_code ec;
    if (location == ":memory:" || (!location.empty() && !std::filesystem::exists(loc, ec) && !ec))
        return schema_of_empty_database(false);
    if (location.empty() || loc.find('\0') != std::string::npos)
        return make_open_error(errc::unavailable, "the database location is empty or contains a NUL character");

    sqlite3* db = nullptr;
    int const rc = sqlite3_open_v2(loc.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> owner(db, &sqlite3_close);
    if (rc != SQLITE_OK)
        return make_open_error(classify(rc), "cannot open the database '" + loc + "': " +
                                                 (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_busy_timeout(db, options.busy_timeout_ms);
    std::string why;
    auto status = read_sqlite_status(db, why);
    if (!status) {
        if (why.find("not a database") != std::string::npos)
            why = "the file exists but is not a SQLite database";
        return make_open_error(errc::internal, "cannot read the schema of the database '" + loc + "': " + why);
    }
    return std::move(*status);
}

status_result sqlite_migrate(std::string_view location, store_options const& options)
{
    store_options migrating = options;
    migrating.migrate = true;
    auto opened = sqlite_store::open(location, migrating);
    if (!opened)
        return opened.error();
    // An in-memory database is gone with its only connection; it held every step.
    if (location == ":memory:")
        return schema_of_empty_database(true);
    opened->reset();
    return sqlite_schema_status(location, options);
}

} // namespace relay::store::detail
