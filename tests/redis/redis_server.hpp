#pragma once
/** @file A real redis-server for the tests: its own port on 127.0.0.1 and its own temporary
 * directory, no persistence (`--save "" --appendonly no`), stopped and removed at the end.
 *
 * Which one to use:
 * - shared_redis(): one server shared by every entry of a ctest run (fixture `redis`). Only for
 *   tests of a Redis client that keep to keys and channels of their own names and never stop,
 *   pause or flush the server.
 * - a private redis_server per test case: every test that runs relayd against Redis (the relay's
 *   keys are fixed, `relay:…`, so two such tests cannot share a server), and every test that
 *   kills, stops, pauses or flushes Redis. Cheap: a few milliseconds and megabytes. */
#include <cluster/redis_client.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace relay::support {
class child_process;
}

namespace relay::test::redis {

/** Settings beyond the test defaults. */
struct server_options {
    /** `--requirepass`: clients must AUTH with it; empty: no password. */
    std::string password;
    /** More redis-server arguments (`--maxmemory 1mb`, …); later ones win. */
    std::vector<std::string> extra_args;
};

/** A reply of command(): the relay's own Redis reply type (librelay/src/cluster). */
using reply = ::relay::cluster::redis_reply;

/**
 * A redis-server for the tests. The constructor starts it on a free loopback port and waits until
 * it answers PING; the destructor stops it and removes its directory. Failures throw
 * std::runtime_error carrying the server's log. Not thread-safe except command(), which opens a
 * connection of its own on each call.
 *
 * A private server is a child of the thread that made it and dies with it (PR_SET_PDEATHSIG):
 * make it on the test's own thread, not on one that ends before the test.
 */
class redis_server {
public:
    explicit redis_server(server_options options = {});
    ~redis_server();
    redis_server(redis_server const&) = delete;
    redis_server& operator=(redis_server const&) = delete;

    /** Starts it again, on the same port, and waits until it answers PING (no-op when running).
     * Its data is gone: a restarted Redis is empty, as a real one without persistence is. */
    void start();
    /** A clean stop (SHUTDOWN NOSAVE; SIGKILL if that does not end it), waiting until it is gone. */
    void stop();
    /** A crash: SIGKILL, waiting until it is gone. */
    void kill();
    /** A wedged Redis: SIGSTOP. Connections stay open, nothing is answered. */
    void pause();
    /** SIGCONT after pause(). */
    void resume();
    /** Whether this object started it and has not stopped or killed it since. */
    bool running() const noexcept { return running_; }

    std::uint16_t port() const noexcept { return port_; }
    std::string const& password() const noexcept { return password_; }
    /** redis://[:password@]127.0.0.1:<port>[/db]; no `/db` when `db` is negative. */
    std::string url(int db = -1) const;
    /** Everything the server logged so far. */
    std::string log() const;

    /**
     * Runs one command (e.g. {"DBSIZE"}, {"FLUSHALL"}) on a connection of its own to database
     * `db`, authenticating first when the server has a password. An error reply is a reply
     * (kind::error); throws std::runtime_error when the server cannot be reached within 5 s.
     */
    reply command(std::vector<std::string> const& argv, int db = 0) const;

    /** Writes what another process needs to use this server into `dir`, and leaves the server
     * running when this object is destroyed: the fixture program's `start`. */
    void detach_to(std::string const& dir);
    /** Takes over a server that detach_to described in `dir`; this object stops and removes it
     * when destroyed: the fixture program's `stop`. */
    static std::unique_ptr<redis_server> adopt(std::string const& dir);
    /** Uses a server that detach_to described in `dir` without owning it: start, stop, kill,
     * pause and the destructor leave it alone. Null when `dir` describes no server that answers. */
    static std::unique_ptr<redis_server> attach(std::string const& dir);

private:
    struct described {};
    redis_server(described, std::string const& dir);

    /** Starts the process: a child of this process, or a daemon (detached) for the fixture. */
    void launch(bool daemon);
    /** Waits until it answers PING; throws with the log when it exits or does not answer. */
    void wait_ready();
    /** Sends `sig` to the server process. */
    void signal(int sig);
    /** Waits until the process is gone; false when it still runs after `limit`. */
    bool wait_gone(std::chrono::milliseconds limit);
    std::vector<std::string> arguments(bool daemon) const;

    std::string program_;
    std::string root_; ///< the temporary folder holding redis.log (and the pid file of a daemon)
    std::uint16_t port_ = 0;
    std::string password_;
    std::vector<std::string> extra_args_;
    std::unique_ptr<support::child_process> child_; ///< a private server
    bool daemon_ = false;                            ///< detached (shared): not our child
    pid_t daemon_pid_ = -1;
    bool running_ = false;
    bool owned_ = true; ///< false for attach(): someone else stops and removes it
};

/**
 * The server the tests of this process share: the one the ctest fixture started when
 * RELAY_TEST_REDIS_DIR names it and it answers, otherwise one started for this process on the
 * first call (so a test binary run by hand works too). See the file comment for when to use it.
 */
redis_server& shared_redis();

} // namespace relay::test::redis
