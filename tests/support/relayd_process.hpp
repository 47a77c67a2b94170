#pragma once
// Starts a real relayd on a free loopback port for a test, and stops it at the end; a thin
// wrapper on the shared relay_support::child_process.
#include <relay_support/process.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace relay::test {

using env_map = std::map<std::string, std::string>;

class relayd_process {
public:
    /**
     * Starts relayd with a clean environment plus `env` (RELAY_HOST=127.0.0.1, RELAY_PORT=0 and an
     * in-memory database unless given), waits until it listens, and learns its port. With
     * RELAY_TEST_DATABASE=postgresql in this process's environment, a relayd given no database
     * gets a fresh one on the shared PostgreSQL server (pg::shared_server) and a RELAY_SECRET_KEY.
     * Throws std::runtime_error with relayd's output if it does not come up.
     */
    explicit relayd_process(std::map<std::string, std::string> env = {}, std::vector<std::string> args = {});
    ~relayd_process();
    relayd_process(relayd_process const&) = delete;
    relayd_process& operator=(relayd_process const&) = delete;

    std::uint16_t port() const noexcept { return port_; }

    /** Sends `sig` and waits; returns the exit status (or 128+signal). */
    int stop(int sig = 15);

    /** Everything relayd wrote to stderr so far. */
    std::string output() const;

    bool running() const noexcept { return process_ && !process_->status(); }
    pid_t pid() const noexcept { return process_ ? process_->pid() : -1; }

private:
    std::string log_path_;
    std::optional<support::child_process> process_;
    std::uint16_t port_ = 0;
    /** The database made for it on the shared PostgreSQL server, dropped with it; "" for none. */
    std::string postgres_database_;
};

/** Runs relayd with arguments and environment to completion; returns {exit status, stdout+stderr}. */
std::pair<int, std::string> run_relayd(std::vector<std::string> const& args,
                                       std::map<std::string, std::string> const& env,
                                       std::string const& stdin_text = {});

using support::temp_dir;
using support::wait_for_exit;

} // namespace relay::test
