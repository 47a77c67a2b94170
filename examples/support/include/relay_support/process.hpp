#pragma once
/** @file Child processes for the tests and the examples: start a program with its output in a
 * file, wait for it with a time limit, stop it, find a program on PATH, and pick a free loopback
 * port. One copy of the fork/exec, waitpid and kill code that the relayd, coturn, nginx,
 * relay-cli and robot-agent wrappers build on. POSIX only; no Asio. */
#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace relay::support {

/** The full path of `program` on PATH or in the usual bin and sbin directories (nginx and
 * turnserver live in sbin, which a user's PATH may lack); nullopt when it is nowhere. */
std::optional<std::string> find_program(std::string_view program);

/** A port on 127.0.0.1 that was free for both TCP and UDP a moment ago (coturn listens on
 * both). Another process may take it before the caller binds it: callers that can, retry. */
std::uint16_t free_loopback_port();

/** Whether something accepts TCP connections on 127.0.0.1:port within `limit`. */
bool wait_listening(std::uint16_t port, std::chrono::milliseconds limit);

/** The whole of a text file ("" when it cannot be read). */
std::string read_text(std::string const& path);

/** Replaces a file's contents; throws std::runtime_error when it cannot be written. */
void write_text(std::string const& path, std::string_view text);

/**
 * Waits for child `pid` up to `limit`: its exit status (128 + signal when a signal ended it, -1
 * when it cannot be waited for), or nullopt while it still runs. Reaps it when it returns a status.
 */
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds limit);

/** A fresh directory under the system's temporary directory, removed with its contents by the
 * destructor. */
class temp_dir {
public:
    /** Throws std::runtime_error when it cannot be made. */
    temp_dir();
    ~temp_dir();
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;

    std::string const& path() const noexcept { return path_; }

private:
    std::string path_;
};

/** How to start a child process. */
struct spawn_options {
    /** argv[0] is a full path (see find_program); nothing is looked up on PATH. */
    std::vector<std::string> argv;
    /** The child's whole environment; nullopt: this process's own. */
    std::optional<std::map<std::string, std::string>> env;
    /** Where stdout goes (created, or appended to with `append_output`); "" for /dev/null. */
    std::string output_path;
    /** Where stderr goes; "" for the same file as stdout. */
    std::string error_path;
    bool append_output = false;
    /** Give the child a pipe as stdin (write_stdin, stdin_fd, close_stdin); otherwise /dev/null. */
    bool stdin_pipe = false;
    /** Send stdout and stderr into pipes this process reads (stdout_fd, stderr_fd; non-blocking)
     * instead of output_path and error_path. */
    bool output_pipes = false;
    /** Start it in a process group of its own, so that stop() also ends what a shell started. */
    bool own_process_group = false;
    /** Ask the kernel to send SIGTERM to the child when this process dies, so that a crashed
     * parent leaves no server behind. */
    bool end_with_parent = false;
    /** What the destructor sends if the child still runs; SIGKILL when the child's own shutdown
     * is of no interest. The destructor waits `stop_grace`, then sends SIGKILL. */
    int stop_signal = 15;
    std::chrono::milliseconds stop_grace = std::chrono::seconds(5);
};

/** A running child process. Stopped (see spawn_options::stop_signal) and reaped by the destructor,
 * so that no test leaves a process behind. Not thread-safe: one owner. */
class child_process {
public:
    /** Starts it; throws std::system_error when fork or the pipes fail. An exec failure shows as
     * exit status 127. */
    explicit child_process(spawn_options options);
    ~child_process();
    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    pid_t pid() const noexcept { return pid_; }

    /** Whether it still runs (reaps it when it has exited). */
    bool running();

    /** Its exit status once it has exited (128 + signal, or -1 when it had to be killed after a
     * time limit), nullopt while it runs. */
    std::optional<int> status() const noexcept { return status_; }
    /** The signal that ended it, 0 when it exited by itself (or still runs). */
    int end_signal() const noexcept { return end_signal_; }

    /** Writes to its stdin (a pipe, see spawn_options::stdin_pipe); false when that fails, for
     * example because it has exited (never SIGPIPE, see sigpipe_guard). */
    bool write_stdin(std::string_view text);
    /** Closes its stdin, so that it reads end of file. */
    void close_stdin();

    /** The pipe ends, for a caller's own poll loop; -1 when there is none (or it was closed). */
    int stdin_fd() const noexcept { return stdin_; }
    int stdout_fd() const noexcept { return stdout_; }
    int stderr_fd() const noexcept { return stderr_; }

    /** Waits up to `limit` for it to exit by itself: its exit status, or nullopt while it runs. */
    std::optional<int> wait(std::chrono::milliseconds limit);

    /** Sends `sig` (to its group too when it has one), waits up to `limit`, then SIGKILL: the
     * exit status, or -1 when it had to be killed. Once it has exited, its exit status. */
    int stop(int sig, std::chrono::milliseconds limit = std::chrono::seconds(30));

    /** Sends `sig` and returns at once. */
    void signal(int sig);

    /** Its output so far (the file of spawn_options::output_path). */
    std::string output() const;

private:
    spawn_options options_;
    /** Reaps it if it exited within `limit`. */
    bool reap(std::chrono::milliseconds limit);

    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    int stderr_ = -1;
    std::optional<int> status_;
    int end_signal_ = 0;
};

/** Blocks SIGPIPE in this thread while it lives and swallows one raised meanwhile, so that writing
 * to a child that has already exited fails with EPIPE instead of killing the whole process; the
 * process's own SIGPIPE disposition is left alone. */
class sigpipe_guard {
public:
    sigpipe_guard();
    ~sigpipe_guard();
    sigpipe_guard(sigpipe_guard const&) = delete;
    sigpipe_guard& operator=(sigpipe_guard const&) = delete;

private:
    sigset_t pipe_;
    sigset_t old_;
};

/** What a program run to its end did. */
struct run_result {
    int status = -1;    ///< exit status, 128 + signal, or -1 when it ran out of time and was killed
    std::string output; ///< stdout and stderr together
};

/** Runs `argv` (argv[0] a full path) to its end with `input` on stdin, killing it (and its
 * process group) after `limit`. `env` nullopt: this process's own environment. */
run_result run_program(std::vector<std::string> argv, std::chrono::milliseconds limit = std::chrono::seconds(120),
                       std::string_view input = {},
                       std::optional<std::map<std::string, std::string>> env = std::nullopt);

} // namespace relay::support
