#pragma once
// A program under test (robot-agent, relay-cli) started with a stdin pipe and its stdout and
// stderr in files, for tests that run the examples as people and robots do.
#include "support/relayd_process.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace relay::test {

class child_process {
public:
    /** Starts `program` with `args` and exactly `env` (plus PATH). */
    child_process(std::string program, std::vector<std::string> args, std::map<std::string, std::string> env)
    {
        std::signal(SIGPIPE, SIG_IGN); // writing to a child that already exited must not kill the test
        out_path_ = dir_.path() + "/stdout";
        err_path_ = dir_.path() + "/stderr";
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        std::vector<std::string> argv_s{std::move(program)};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_s)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        if (auto* path = std::getenv("PATH"))
            env.try_emplace("PATH", path);
        std::vector<std::string> env_s;
        for (auto const& [k, v] : env)
            env_s.push_back(k + "=" + v);
        std::vector<char*> envp;
        for (auto& e : env_s)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(fds[0], 0);
            ::dup2(out, 1);
            ::dup2(err, 2);
            ::close(fds[1]);
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
        ::close(fds[0]);
        stdin_ = fds[1];
    }

    ~child_process()
    {
        close_stdin();
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    void write(std::string const& text)
    {
        REQUIRE(stdin_ >= 0);
        REQUIRE(::write(stdin_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }

    void write_line(std::string const& line) { write(line + "\n"); }

    void close_stdin()
    {
        if (stdin_ >= 0)
            ::close(stdin_);
        stdin_ = -1;
    }

    /** Waits for the exit (up to `timeout`, then kills it); the exit status, or -1. */
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(60))
    {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (pid_ > 0) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return status_;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                pid_ = -1;
                return -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return status_;
    }

    int stop(int sig = SIGTERM)
    {
        if (pid_ > 0)
            ::kill(pid_, sig);
        return wait();
    }

    std::string out() const { return read(out_path_); }
    std::string err() const { return read(err_path_); }
    /** Both, for failure messages. */
    std::string output() const { return out() + err(); }

    /** Waits until stdout or stderr contains `text`. */
    bool wait_output(std::string const& text, std::chrono::milliseconds timeout = std::chrono::seconds(30))
    {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (output().find(text) != std::string::npos)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }

private:
    static std::string read(std::string const& path)
    {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    temp_dir dir_;
    std::string out_path_;
    std::string err_path_;
    pid_t pid_ = -1;
    int stdin_ = -1;
    int status_ = -1;
};

/** Runs a program to its end with `input` on stdin. */
struct run_result {
    int status = -1;
    std::string out;
    std::string err;
};

inline run_result run_program(std::string program, std::vector<std::string> args, std::map<std::string, std::string> env,
                              std::string const& input = {}, std::chrono::milliseconds timeout = std::chrono::seconds(60))
{
    child_process p(std::move(program), std::move(args), std::move(env));
    if (!input.empty())
        p.write(input);
    p.close_stdin();
    run_result r;
    r.status = p.wait(timeout);
    r.out = p.out();
    r.err = p.err();
    return r;
}

} // namespace relay::test
