#pragma once
// The programs a deployment runs beside relayd (nginx, coturn) and the shell, started the way the
// ops tests need them: on loopback ports, output captured, always stopped at the end. The
// process code itself is the shared relay_support library's.
#include <relay_support/process.hpp>

#include <csignal>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ops_test {

using relay::support::find_program;
using relay::support::free_loopback_port;
using relay::support::read_text;
using relay::support::run_program;
using relay::support::wait_listening;
using relay::support::write_text;

/** A background server (relayd, nginx, coturn) with stdout and stderr appended to `log_path`, in
 * a process group of its own so that what a shell started ends with it; stopped (SIGTERM, then
 * SIGKILL) by the destructor unless stop() was called. `env` nullopt: the test's own environment. */
class child_process : public relay::support::child_process {
public:
    child_process(std::vector<std::string> argv, std::string log_path,
                  std::optional<std::map<std::string, std::string>> env = std::nullopt)
        : relay::support::child_process(options(std::move(argv), std::move(log_path), std::move(env)))
    {
    }

private:
    static relay::support::spawn_options options(std::vector<std::string> argv, std::string log_path,
                                                 std::optional<std::map<std::string, std::string>> env)
    {
        relay::support::spawn_options o;
        o.argv = std::move(argv);
        o.env = std::move(env);
        o.output_path = std::move(log_path);
        o.append_output = true;
        o.own_process_group = true;
        o.stop_signal = SIGTERM;
        o.stop_grace = std::chrono::seconds(10);
        return o;
    }
};

} // namespace ops_test
