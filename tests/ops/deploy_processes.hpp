#pragma once
// The programs a deployment runs beside relayd (nginx, coturn) and the shell, started the way the
// ops tests need them: on loopback ports, output captured, always stopped at the end.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace ops_test {

/** The full path of `program` on PATH (or in the usual sbin directories), or nullopt. */
std::optional<std::string> find_program(std::string const& program);

/** A TCP port on 127.0.0.1 that was free a moment ago (and free for UDP too). */
std::uint16_t free_port();

/** Whether something accepts TCP connections on 127.0.0.1:port within `limit`. */
bool wait_listening(std::uint16_t port, std::chrono::milliseconds limit);

std::string read_text(std::string const& path);
void write_text(std::string const& path, std::string const& text);

/** Runs `argv` (argv[0] a full path) to completion within `limit`: {exit status, or 128+signal,
 * or -1 on time-out; stdout and stderr together}. */
std::pair<int, std::string> run_program(std::vector<std::string> const& argv,
                                        std::chrono::seconds limit = std::chrono::seconds(120));

/** A background process with stdout and stderr in a file; stopped (SIGTERM, then SIGKILL) by the
 * destructor unless stop() was called. */
class child_process {
public:
    /** `env` empty: the test's own environment. */
    child_process(std::vector<std::string> argv, std::string log_path,
                  std::optional<std::map<std::string, std::string>> env = std::nullopt);
    ~child_process();
    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    /** Sends `sig` and waits up to `limit`; the exit status (128+signal when killed), or -1 when
     * it had to be killed after the limit. Once it exited, its exit status. */
    int stop(int sig, std::chrono::seconds limit = std::chrono::seconds(30));

    /** Whether it exited by itself already. */
    bool exited();

    std::string output() const { return read_text(log_path_); }
    pid_t pid() const noexcept { return pid_; }

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

} // namespace ops_test
