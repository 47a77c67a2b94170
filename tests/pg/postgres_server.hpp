#pragma once
/** @file A real PostgreSQL server for the tests: its own data directory in a temporary folder, its
 * own port on 127.0.0.1, run as the `postgres` user when the tests run as root (PostgreSQL refuses
 * root), stopped and removed at the end. Tuned for tests, not durability (fsync off). Also the
 * server shared by the ctest entries of one run (shared_server) and the admin SQL tests need. */
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace relay::test::pg {

/** How pg_ctl stops the server: `fast` ends sessions cleanly, `immediate` is a crash. */
enum class stop_mode { fast, immediate };

/** Settings beyond the test defaults, for the TLS test and the like. */
struct server_options {
    /** Lines appended to postgresql.conf (`ssl = on`, …); later lines win. */
    std::vector<std::string> config_lines;
    /** The whole pg_hba.conf; empty: initdb's, with scram-sha-256 for every connection. */
    std::string hba_conf;
    /** Files written into the data directory before the first start, readable by the server only
     * (0600), by name: certificates and keys that `config_lines` then name relative to it. */
    std::map<std::string, std::string> data_files;
};

/** Rows of a query's result, each a list of its columns as text ("" for NULL). */
using sql_rows = std::vector<std::vector<std::string>>;

/**
 * A PostgreSQL server for the tests. The constructor makes the directories, runs initdb (UTF8,
 * locale C, scram-sha-256, a random superuser password) and starts it on a free loopback port;
 * the destructor stops it and removes everything. Failures throw std::runtime_error carrying the
 * server's log. Not thread-safe except create_database and admin_sql, which open their own
 * connection on each call.
 */
class postgres_server {
public:
    explicit postgres_server(server_options options = {});
    ~postgres_server();
    postgres_server(postgres_server const&) = delete;
    postgres_server& operator=(postgres_server const&) = delete;

    /** Stops the server and waits until it has (a no-op when it is stopped). */
    void stop(stop_mode mode = stop_mode::fast);
    /** Starts it again, on the same port, and waits until it accepts connections. */
    void start();
    /** Whether this object started it and has not stopped it since. */
    bool running() const noexcept { return running_; }

    std::uint16_t port() const noexcept { return port_; }
    /** The superuser's name and password (the password is random per server). */
    std::string const& user() const noexcept { return user_; }
    std::string const& password() const noexcept { return password_; }
    /** The data directory (owned by the server's user). */
    std::string data_dir() const;
    /** Everything the server logged so far. */
    std::string log() const;

    /** The URL of database `db`: postgresql://<user>:<password>@127.0.0.1:<port>/<db>. */
    std::string url(std::string_view db) const;
    /** A fresh database with a name no other caller gets, its URL as url() spells it. */
    std::string create_database();
    /** Drops the database of a URL create_database returned, ending its sessions (each database
     * is a copy of template1, some megabytes: suites that make hundreds drop them). Throws
     * std::runtime_error when it fails. */
    void drop_database(std::string_view url);
    /** Runs `sql` (one or more statements) as the superuser on database `db`: the rows of the
     * last statement. Throws std::runtime_error with PostgreSQL's message when it fails. */
    sql_rows admin_sql(std::string_view db, std::string_view sql) const;
    /** The first column of the first row of admin_sql; throws when there is no row. */
    std::string admin_value(std::string_view db, std::string_view sql) const;

    /** Writes what another process needs to use this server (port, user, password, where it
     * lives) into `dir`, and leaves the server running when this object is destroyed: the
     * fixture program's `start`. */
    void detach_to(std::string const& dir);
    /** Takes over a server that detach_to described in `dir`; this object stops it and removes it
     * when destroyed: the fixture program's `stop`. */
    static std::unique_ptr<postgres_server> adopt(std::string const& dir);
    /** Uses a server that detach_to described in `dir` without owning it: stop, start and the
     * destructor leave it alone. Null when `dir` describes no server that answers. */
    static std::unique_ptr<postgres_server> attach(std::string const& dir);

private:
    struct described {};
    postgres_server(described, std::string const& dir);

    /** Runs a PostgreSQL program (initdb, pg_ctl) as the server's user; throws with its output
     * and the server log when it fails. */
    void run_as_server_user(std::vector<std::string> argv, std::chrono::seconds limit) const;
    /** Whether a connection to the server succeeds now. */
    bool answers() const;
    /** Stops and removes the servers of test processes that died without stopping them. */
    void remove_abandoned() const;

    std::string bin_dir_;
    std::string root_; ///< the temporary folder holding data/, socket/, server.log
    std::uint16_t port_ = 0;
    std::string user_ = "relay_admin";
    std::string password_;
    bool running_ = false;
    bool owned_ = true; ///< false for attach(): someone else stops and removes it
};

/**
 * The server the tests of this process share: the one the ctest fixture started when
 * RELAY_TEST_POSTGRES_DIR names it and it answers, otherwise one started for this process on the
 * first call (so a test binary run by hand works too). Each test creates its own database on it.
 */
postgres_server& shared_server();

} // namespace relay::test::pg
