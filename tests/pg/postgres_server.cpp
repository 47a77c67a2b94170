#include "pg/postgres_server.hpp"

#include <relay_support/process.hpp>

#include <libpq-fe.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <system_error>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace relay::test::pg {
namespace {

namespace fs = std::filesystem;

/** The user PostgreSQL's programs run as when the tests run as root. */
constexpr char const* server_account = "postgres";

/** The bin directory of the newest PostgreSQL under /usr/lib/postgresql (Debian's layout), or
 * RELAY_TEST_POSTGRES_BIN when set. */
std::string find_bin_dir()
{
    if (auto const* given = std::getenv("RELAY_TEST_POSTGRES_BIN"); given && *given)
        return given;
    int best = -1;
    std::string found;
    std::error_code ec;
    for (auto const& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        auto const name = entry.path().filename().string();
        auto const version = std::atoi(name.c_str());
        auto bin = entry.path() / "bin";
        if (version > best && fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl")) {
            best = version;
            found = bin.string();
        }
    }
    if (found.empty())
        throw std::runtime_error("no PostgreSQL server programs under /usr/lib/postgresql/*/bin "
                                 "(install the postgresql package, or set RELAY_TEST_POSTGRES_BIN)");
    return found;
}

/** Random hex, for passwords and database names. */
std::string random_hex(std::size_t length)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::random_device device;
    std::string out(length, '0');
    for (auto& c : out)
        c = digits[device() % 16];
    return out;
}

bool running_as_root() { return ::geteuid() == 0; }

/** Gives `path` to the server's user when the tests run as root (PostgreSQL refuses root, and
 * wants its data directory to be its own). */
void hand_over(std::string const& path)
{
    if (!running_as_root())
        return;
    auto const* account = ::getpwnam(server_account);
    if (!account)
        throw std::runtime_error("running as root, but there is no 'postgres' user to run PostgreSQL as");
    if (::chown(path.c_str(), account->pw_uid, account->pw_gid) != 0)
        throw std::system_error(errno, std::generic_category(), "chown " + path);
}

/** A file readable by its owner only, given to the server's user. */
void write_private(std::string const& path, std::string_view text)
{
    support::write_text(path, text);
    ::chmod(path.c_str(), 0600);
    hand_over(path);
}

/** libpq's connection, closed by the destructor. */
struct connection {
    PGconn* conn = nullptr;
    ~connection() { PQfinish(conn); }
};

/** libpq's result, cleared by the destructor. */
struct result {
    PGresult* res = nullptr;
    ~result() { PQclear(res); }
};

std::atomic<unsigned> databases_made{0};

/** The file naming the process a server belongs to; a detached (shared) server has none. */
constexpr char const* owner_file = "/owner";

/** Whether process `pid` is gone. */
bool process_gone(std::string const& pid)
{
    auto const n = std::atoi(pid.c_str());
    return n > 0 && ::kill(n, 0) != 0 && errno == ESRCH;
}

} // namespace

void postgres_server::remove_abandoned() const
{
    // A test process killed outright (a ctest time-out, a closed pipe) cannot stop its servers,
    // and pg_ctl's server outlives it: the next server made here ends those whose owner is gone.
    std::error_code ec;
    for (auto const& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
        auto const dir = entry.path().string();
        if (entry.path().filename().string().rfind("relay-pg-", 0) != 0 || dir == root_)
            continue;
        auto const owner = support::read_text(dir + owner_file);
        if (owner.empty() || !process_gone(owner))
            continue;
        try {
            run_as_server_user({bin_dir_ + "/pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"},
                               std::chrono::seconds(60));
        } catch (std::runtime_error const&) {
            // Not running (or already gone): the directory goes all the same.
        }
        fs::remove_all(dir, ec);
    }
}

postgres_server::postgres_server(server_options options) : bin_dir_(find_bin_dir()), password_(random_hex(32))
{
    auto pattern = (fs::temp_directory_path() / "relay-pg-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
    root_ = pattern;
    try {
        support::write_text(root_ + owner_file, std::to_string(::getpid()));
        remove_abandoned();
        hand_over(root_);
        fs::create_directory(root_ + "/socket");
        hand_over(root_ + "/socket");
        write_private(root_ + "/pwfile", password_);
        run_as_server_user({bin_dir_ + "/initdb", "-D", data_dir(), "-U", user_, "--pwfile=" + root_ + "/pwfile",
                            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
                            "--no-instructions"},
                           std::chrono::seconds(120));
        fs::remove(root_ + "/pwfile");

        // Tests, not durability: nothing waits for the disk. synchronous_commit stays on: with
        // fsync off it costs one write(), and without it a crash (stop_mode::immediate) loses
        // the last commits still in WAL buffers, which a test of a crash must not see. The unix
        // socket lives in the temp folder only; TCP on loopback only.
        std::string conf = "\n# relay tests\n"
                           "listen_addresses = '127.0.0.1'\n"
                           "unix_socket_directories = '" + root_ + "/socket'\n"
                           "fsync = off\n"
                           "full_page_writes = off\n"
                           "max_connections = 300\n";
        for (auto const& line : options.config_lines)
            conf += line + "\n";
        std::ofstream(data_dir() + "/postgresql.conf", std::ios::app) << conf;
        if (!options.hba_conf.empty())
            support::write_text(data_dir() + "/pg_hba.conf", options.hba_conf);
        for (auto const& [name, contents] : options.data_files)
            write_private(data_dir() + "/" + name, contents);

        // Another process may take the free port first: then a fresh one, a few times.
        for (int attempt = 1;; ++attempt) {
            port_ = support::free_loopback_port();
            std::ofstream(data_dir() + "/postgresql.conf", std::ios::app) << "port = " << port_ << "\n";
            try {
                start();
                break;
            } catch (std::runtime_error const&) {
                if (attempt == 3 || log().find("could not bind") == std::string::npos)
                    throw;
            }
        }
    } catch (...) {
        std::error_code ec;
        fs::remove_all(root_, ec);
        throw;
    }
}

postgres_server::postgres_server(described, std::string const& dir)
{
    std::ifstream in(dir + "/server");
    if (!in)
        throw std::runtime_error("no PostgreSQL server described in " + dir);
    std::string port;
    std::getline(in, bin_dir_);
    std::getline(in, root_);
    std::getline(in, port);
    std::getline(in, user_);
    std::getline(in, password_);
    if (!in || root_.empty())
        throw std::runtime_error("unreadable PostgreSQL server description in " + dir);
    port_ = static_cast<std::uint16_t>(std::atoi(port.c_str()));
    running_ = true;
}

postgres_server::~postgres_server()
{
    if (!owned_)
        return;
    try {
        // The data goes away with it: no need for a clean shutdown.
        stop(stop_mode::immediate);
    } catch (std::exception const&) {
        // Nothing to do in a destructor: the directory goes below, a server left behind is ended
        // by the missing data directory at its next check.
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
}

void postgres_server::stop(stop_mode mode)
{
    if (!owned_ || !running_)
        return;
    run_as_server_user({bin_dir_ + "/pg_ctl", "-D", data_dir(), "-m", mode == stop_mode::fast ? "fast" : "immediate",
                        "-w", "-t", "60", "stop"},
                       std::chrono::seconds(90));
    running_ = false;
}

void postgres_server::start()
{
    if (!owned_ || running_)
        return;
    run_as_server_user({bin_dir_ + "/pg_ctl", "-D", data_dir(), "-l", root_ + "/server.log", "-w", "-t", "60",
                        "start"},
                       std::chrono::seconds(90));
    running_ = true;
}

std::string postgres_server::data_dir() const { return root_ + "/data"; }

std::string postgres_server::log() const { return support::read_text(root_ + "/server.log"); }

void postgres_server::run_as_server_user(std::vector<std::string> argv, std::chrono::seconds limit) const
{
    if (running_as_root()) {
        auto runuser = support::find_program("runuser");
        if (!runuser)
            throw std::runtime_error("running as root, but runuser is missing to run PostgreSQL as 'postgres'");
        argv.insert(argv.begin(), {*runuser, "-u", server_account, "--"});
    }
    auto r = support::run_program(argv, limit);
    if (r.status != 0) {
        std::string command;
        for (auto const& a : argv)
            command += a + " ";
        throw std::runtime_error(command + "failed (status " + std::to_string(r.status) + "):\n" + r.output +
                                 "\nserver log:\n" + log());
    }
}

std::string postgres_server::url(std::string_view db) const
{
    return "postgresql://" + user_ + ":" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" + std::string(db);
}

std::string postgres_server::create_database()
{
    auto name = "relay_test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_made) + "_" +
                random_hex(6);
    // FILE_COPY: with fsync off, copying template1's files is several times faster than
    // PostgreSQL 15's default of writing them through the WAL (tens of ms, not hundreds).
    admin_sql("postgres", "CREATE DATABASE " + name + " STRATEGY FILE_COPY");
    return url(name);
}

void postgres_server::drop_database(std::string_view url)
{
    auto const name = url.substr(url.rfind('/') + 1);
    admin_sql("postgres", "DROP DATABASE IF EXISTS " + std::string(name) + " WITH (FORCE)");
}

sql_rows postgres_server::admin_sql(std::string_view db, std::string_view sql) const
{
    auto const port = std::to_string(port_);
    auto const name = std::string(db);
    char const* keys[] = {"host", "port", "user", "password", "dbname", "connect_timeout", nullptr};
    char const* values[] = {"127.0.0.1", port.c_str(), user_.c_str(), password_.c_str(), name.c_str(), "10", nullptr};
    connection c{PQconnectdbParams(keys, values, 0)};
    if (PQstatus(c.conn) != CONNECTION_OK)
        throw std::runtime_error("cannot connect to PostgreSQL on port " + port + ": " + PQerrorMessage(c.conn));
    result r{PQexec(c.conn, std::string(sql).c_str())};
    auto const status = PQresultStatus(r.res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error("admin SQL failed: " + std::string(sql) + ": " + PQerrorMessage(c.conn));
    sql_rows rows;
    for (int i = 0; i < PQntuples(r.res); ++i) {
        auto& row = rows.emplace_back();
        for (int j = 0; j < PQnfields(r.res); ++j)
            row.emplace_back(PQgetvalue(r.res, i, j));
    }
    return rows;
}

std::string postgres_server::admin_value(std::string_view db, std::string_view sql) const
{
    auto rows = admin_sql(db, sql);
    if (rows.empty() || rows.front().empty())
        throw std::runtime_error("admin SQL returned no value: " + std::string(sql));
    return rows.front().front();
}

bool postgres_server::answers() const
{
    try {
        return admin_value("postgres", "SELECT 1") == "1";
    } catch (std::runtime_error const&) {
        return false;
    }
}

void postgres_server::detach_to(std::string const& dir)
{
    fs::create_directories(dir);
    support::write_text(dir + "/server",
                        bin_dir_ + "\n" + root_ + "\n" + std::to_string(port_) + "\n" + user_ + "\n" + password_ +
                            "\n");
    ::chmod((dir + "/server").c_str(), 0600);
    // Its owner is now whoever adopts it (the fixture's stop), not this process.
    fs::remove(root_ + owner_file);
    owned_ = false;
}

std::unique_ptr<postgres_server> postgres_server::adopt(std::string const& dir)
{
    return std::unique_ptr<postgres_server>(new postgres_server(described{}, dir));
}

std::unique_ptr<postgres_server> postgres_server::attach(std::string const& dir)
{
    std::unique_ptr<postgres_server> server;
    try {
        server = adopt(dir);
    } catch (std::runtime_error const&) {
        return nullptr;
    }
    server->owned_ = false;
    if (!server->answers())
        return nullptr;
    return server;
}

postgres_server& shared_server()
{
    // Made on first use, thread-safely; a private server is stopped when the process exits.
    static auto const server = [] {
        if (auto const* dir = std::getenv("RELAY_TEST_POSTGRES_DIR"); dir && *dir)
            if (auto shared = postgres_server::attach(dir))
                return shared;
        return std::make_unique<postgres_server>();
    }();
    return *server;
}

} // namespace relay::test::pg
