#pragma once
// A program under test (robot-agent, relay-cli) started with a stdin pipe and its stdout and
// stderr in files, for tests that run the examples as people and robots do. A thin layer on the
// shared relay_support::child_process that fails the test (REQUIRE) instead of throwing.
#include <relay_support/process.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace relay::test {

class child_process {
public:
    /** Starts `program` with `args` and exactly `env` (plus PATH). */
    child_process(std::string program, std::vector<std::string> args, std::map<std::string, std::string> env)
        : process_(options(std::move(program), std::move(args), std::move(env), dir_.path()))
    {
    }

    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    void write(std::string const& text) { REQUIRE(process_.write_stdin(text)); }

    void write_line(std::string const& line) { write(line + "\n"); }

    void close_stdin() { process_.close_stdin(); }

    /** Waits for the exit (up to `timeout`, then kills it); the exit status, or -1. */
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(60))
    {
        if (auto status = process_.wait(timeout))
            return *status;
        process_.stop(SIGKILL);
        return -1;
    }

    int stop(int sig = SIGTERM)
    {
        process_.signal(sig);
        return wait();
    }

    std::string out() const { return relay::support::read_text(dir_.path() + "/stdout"); }
    std::string err() const { return relay::support::read_text(dir_.path() + "/stderr"); }
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
    static relay::support::spawn_options options(std::string program, std::vector<std::string> args,
                                                 std::map<std::string, std::string> env, std::string const& dir)
    {
        if (auto* path = std::getenv("PATH"))
            env.try_emplace("PATH", path);
        relay::support::spawn_options o;
        o.argv.push_back(std::move(program));
        o.argv.insert(o.argv.end(), args.begin(), args.end());
        o.env = std::move(env);
        o.output_path = dir + "/stdout";
        o.error_path = dir + "/stderr";
        o.stdin_pipe = true;
        o.stop_signal = SIGKILL; // a test that is over has no use for its clean shutdown
        return o;
    }

    relay::support::temp_dir dir_;
    relay::support::child_process process_;
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
