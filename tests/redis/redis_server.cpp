#include "redis/redis_server.hpp"

#include <cluster/hiredis_asio.hpp>
#include <relay_support/process.hpp>

#include <hiredis/hiredis.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

namespace relay::test::redis {
namespace {

namespace fs = std::filesystem;

/** How long a server may take to answer its first PING, and a stop to end it. */
constexpr auto ready_limit = std::chrono::seconds(10);
constexpr auto stop_limit = std::chrono::seconds(10);

/** hiredis's blocking connection, freed by the destructor. */
struct connection {
    redisContext* c = nullptr;
    ~connection()
    {
        if (c)
            redisFree(c);
    }
};

/** A reply of hiredis's blocking API, freed by the destructor. */
struct owned_reply {
    redisReply* r = nullptr;
    ~owned_reply()
    {
        if (r)
            freeReplyObject(r);
    }
};

/** Sends one command on `c`: null when the connection failed (c->errstr says why). */
redisReply* send(redisContext* c, std::vector<std::string> const& argv)
{
    cluster::hiredis_argv a(argv);
    return static_cast<redisReply*>(redisCommandArgv(c, a.argc(), a.args.data(), a.lengths.data()));
}

/** Whether process `pid` (not a child of ours) is gone. */
bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

/** The file naming the test process a private server belongs to; a shared one has none. */
constexpr char const* owner_file = "/owner";

/** Removes the directories of private servers whose test process died without its destructors
 * (a ctest time-out): the server itself died with it (PR_SET_PDEATHSIG), its folder did not. */
void remove_abandoned(std::string const& mine)
{
    std::error_code ec;
    for (auto const& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
        auto const dir = entry.path().string();
        if (entry.path().filename().string().rfind("relay-redis-", 0) != 0 || dir == mine)
            continue;
        auto const owner = std::atoi(support::read_text(dir + owner_file).c_str());
        if (owner > 0 && process_gone(owner))
            fs::remove_all(dir, ec);
    }
}

} // namespace

redis_server::redis_server(server_options options)
    : password_(std::move(options.password)), extra_args_(std::move(options.extra_args))
{
    auto program = support::find_program("redis-server");
    if (!program)
        throw std::runtime_error("redis-server is not installed (the redis-server package)");
    program_ = *program;
    auto pattern = (fs::temp_directory_path() / "relay-redis-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
    root_ = pattern;
    try {
        support::write_text(root_ + owner_file, std::to_string(::getpid()));
        remove_abandoned(root_);
        // Another process may take the free port first: then a fresh one, a few times.
        for (int attempt = 1;; ++attempt) {
            port_ = support::free_loopback_port();
            try {
                start();
                break;
            } catch (std::runtime_error const&) {
                if (attempt == 3 || log().find("Address already in use") == std::string::npos)
                    throw;
            }
        }
    } catch (...) {
        std::error_code ec;
        fs::remove_all(root_, ec);
        throw;
    }
}

redis_server::redis_server(described, std::string const& dir)
{
    std::ifstream in(dir + "/server");
    if (!in)
        throw std::runtime_error("no redis-server described in " + dir);
    std::string port;
    std::string pid;
    std::getline(in, program_);
    std::getline(in, root_);
    std::getline(in, port);
    std::getline(in, pid);
    std::getline(in, password_);
    if (!in || root_.empty())
        throw std::runtime_error("unreadable redis-server description in " + dir);
    port_ = static_cast<std::uint16_t>(std::atoi(port.c_str()));
    daemon_pid_ = static_cast<pid_t>(std::atoi(pid.c_str()));
    daemon_ = true;
    running_ = daemon_pid_ > 0 && !process_gone(daemon_pid_);
}

redis_server::~redis_server()
{
    if (!owned_)
        return;
    try {
        // Nothing is kept: no need for a clean shutdown.
        kill();
    } catch (std::exception const&) {
        // Nothing more to do in a destructor; a private server dies with this process anyway.
    }
    child_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
}

std::vector<std::string> redis_server::arguments(bool daemon) const
{
    std::vector<std::string> argv{program_,     "--port",       std::to_string(port_), "--bind",
                                  "127.0.0.1",  "--save",       "",                    "--appendonly",
                                  "no",         "--dir",        root_,                 "--logfile",
                                  root_ + "/redis.log"};
    if (daemon)
        argv.insert(argv.end(), {"--daemonize", "yes", "--pidfile", root_ + "/redis.pid"});
    else
        argv.insert(argv.end(), {"--daemonize", "no"});
    if (!password_.empty())
        argv.insert(argv.end(), {"--requirepass", password_});
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    return argv;
}

void redis_server::launch(bool daemon)
{
    if (daemon) {
        std::error_code ec;
        fs::remove(root_ + "/redis.pid", ec);
        auto r = support::run_program(arguments(true), std::chrono::seconds(30));
        if (r.status != 0)
            throw std::runtime_error("redis-server --daemonize yes failed (status " + std::to_string(r.status) +
                                     "):\n" + r.output + "\nserver log:\n" + log());
        // The pid file appears once the daemon runs.
        auto const deadline = std::chrono::steady_clock::now() + ready_limit;
        while ((daemon_pid_ = std::atoi(support::read_text(root_ + "/redis.pid").c_str())) <= 0) {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("redis-server wrote no pid file; server log:\n" + log());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return;
    }
    support::spawn_options o;
    o.argv = arguments(false);
    o.output_path = root_ + "/redis.out";
    o.end_with_parent = true;
    o.stop_signal = SIGKILL;
    child_ = std::make_unique<support::child_process>(std::move(o));
}

void redis_server::start()
{
    if (!owned_ || running_)
        return;
    launch(daemon_);
    running_ = true;
    try {
        wait_ready();
    } catch (...) {
        try {
            kill();
        } catch (std::exception const&) {
            // The first failure is the one to report.
        }
        throw;
    }
}

void redis_server::wait_ready()
{
    auto const deadline = std::chrono::steady_clock::now() + ready_limit;
    std::string last;
    for (;;) {
        try {
            auto r = command({"PING"});
            if (r.type == reply::kind::status && r.str == "PONG")
                return;
            last = r.str;
        } catch (std::runtime_error const& e) {
            last = e.what();
        }
        if (child_ && !child_->running())
            throw std::runtime_error("redis-server exited (status " + std::to_string(child_->status().value_or(-1)) +
                                     "):\n" + support::read_text(root_ + "/redis.out") + "\nserver log:\n" + log());
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("redis-server on port " + std::to_string(port_) + " does not answer PING (" +
                                     last + "); server log:\n" + log());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void redis_server::signal(int sig)
{
    if (child_)
        child_->signal(sig);
    else if (daemon_pid_ > 0)
        ::kill(daemon_pid_, sig);
}

bool redis_server::wait_gone(std::chrono::milliseconds limit)
{
    if (child_)
        return child_->wait(limit).has_value();
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!process_gone(daemon_pid_)) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

void redis_server::stop()
{
    if (!owned_ || !running_)
        return;
    signal(SIGCONT); // a paused server cannot shut down
    try {
        command({"SHUTDOWN", "NOSAVE"});
    } catch (std::runtime_error const&) {
        // The connection ends with the server: no reply is the expected answer.
    }
    if (!wait_gone(stop_limit)) {
        signal(SIGKILL);
        if (!wait_gone(stop_limit))
            throw std::runtime_error("redis-server on port " + std::to_string(port_) + " does not stop");
    }
    running_ = false;
}

void redis_server::kill()
{
    if (!owned_ || !running_)
        return;
    signal(SIGKILL);
    if (!wait_gone(stop_limit))
        throw std::runtime_error("redis-server on port " + std::to_string(port_) + " survives SIGKILL");
    running_ = false;
}

void redis_server::pause()
{
    if (owned_ && running_)
        signal(SIGSTOP);
}

void redis_server::resume()
{
    if (owned_ && running_)
        signal(SIGCONT);
}

std::string redis_server::url(int db) const
{
    std::string u = "redis://";
    if (!password_.empty())
        u += ":" + password_ + "@";
    u += "127.0.0.1:" + std::to_string(port_);
    if (db >= 0)
        u += "/" + std::to_string(db);
    return u;
}

std::string redis_server::log() const { return support::read_text(root_ + "/redis.log"); }

reply redis_server::command(std::vector<std::string> const& argv, int db) const
{
    timeval const limit{5, 0};
    connection c{redisConnectWithTimeout("127.0.0.1", port_, limit)};
    if (!c.c)
        throw std::runtime_error("cannot allocate a hiredis context");
    auto const where = "redis-server on port " + std::to_string(port_) + ": ";
    if (c.c->err)
        throw std::runtime_error(where + c.c->errstr);
    redisSetTimeout(c.c, limit);
    std::vector<std::vector<std::string>> steps;
    if (!password_.empty())
        steps.push_back({"AUTH", password_});
    if (db != 0)
        steps.push_back({"SELECT", std::to_string(db)});
    steps.push_back(argv);
    reply last;
    for (auto const& step : steps) {
        owned_reply r{send(c.c, step)};
        if (!r.r)
            throw std::runtime_error(where + (c.c->err ? c.c->errstr : "no reply") + " (" + step.front() + ")");
        last = cluster::copy_reply(*r.r);
        if (last.is_error() && &step != &steps.back())
            throw std::runtime_error(where + step.front() + ": " + last.str);
    }
    return last;
}

void redis_server::detach_to(std::string const& dir)
{
    if (!child_)
        throw std::runtime_error("only a server this process started can be detached");
    // The fixture's server outlives the program that starts it: a daemon instead of our child,
    // on the same port.
    kill();
    child_.reset();
    daemon_ = true;
    start();
    fs::create_directories(dir);
    support::write_text(dir + "/server", program_ + "\n" + root_ + "\n" + std::to_string(port_) + "\n" +
                                             std::to_string(daemon_pid_) + "\n" + password_ + "\n");
    ::chmod((dir + "/server").c_str(), 0600);
    // Its owner is now whoever adopts it (the fixture's stop), not this process.
    fs::remove(root_ + owner_file);
    owned_ = false;
}

std::unique_ptr<redis_server> redis_server::adopt(std::string const& dir)
{
    return std::unique_ptr<redis_server>(new redis_server(described{}, dir));
}

std::unique_ptr<redis_server> redis_server::attach(std::string const& dir)
{
    std::unique_ptr<redis_server> server;
    try {
        server = adopt(dir);
    } catch (std::runtime_error const&) {
        return nullptr;
    }
    server->owned_ = false;
    try {
        if (server->command({"PING"}).str != "PONG")
            return nullptr;
    } catch (std::runtime_error const&) {
        return nullptr;
    }
    return server;
}

redis_server& shared_redis()
{
    // Made on first use, thread-safely; a private server is stopped when the process exits.
    static auto const server = [] {
        if (auto const* dir = std::getenv("RELAY_TEST_REDIS_DIR"); dir && *dir)
            if (auto shared = redis_server::attach(dir))
                return shared;
        return std::make_unique<redis_server>();
    }();
    return *server;
}

} // namespace relay::test::redis
