#include "command_runner.hpp"

#include <relay/protocol/codec.hpp>
#include <relay_support/process.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <optional>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

extern char** environ;

namespace relay::agent {
namespace {

boost::json::object error_object(std::string_view code, std::string_view message)
{
    return {{"code", code}, {"message", message}};
}

std::string_view trim(std::string_view text)
{
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

// Variables the program must not see (the device secret) or that we set ourselves.
bool is_withheld(std::string_view entry)
{
    for (std::string_view prefix : {"RELAY_DEVICE_SECRET=", "RELAY_COMMAND=", "RELAY_COMMAND_ID=", "RELAY_FROM_USER=",
                                    "RELAY_DEVICE_ID="})
        if (entry.substr(0, prefix.size()) == prefix)
            return true;
    return false;
}

} // namespace

command_outcome interpret_output(bool succeeded, std::string_view output, std::string const& failure_text)
{
    command_outcome out;
    auto text = trim(output);
    if (text.empty()) {
        out.ok = succeeded;
        if (!succeeded)
            out.error = error_object("COMMAND_FAILED", failure_text);
        return out;
    }
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    if (ec) {
        out.ok = false;
        out.error = error_object("BAD_OUTPUT", "the command handler's output is not JSON: " +
                                                   std::string(text.substr(0, 200)));
        return out;
    }
    if (auto* o = value.if_object()) {
        if (auto* ok = o->if_contains("ok"); ok && ok->is_bool()) {
            out.ok = ok->as_bool();
            if (auto* d = o->if_contains("data"))
                out.data = *d;
            if (auto* e = o->if_contains("error"))
                out.error = *e;
            if (!out.ok && !out.error)
                out.error = error_object("COMMAND_FAILED", failure_text);
            return out;
        }
    }
    out.ok = succeeded;
    if (succeeded) {
        out.data = std::move(value);
    } else {
        auto error = error_object("COMMAND_FAILED", failure_text);
        error["output"] = std::move(value);
        out.error = std::move(error);
    }
    return out;
}

command_outcome run_command_program(program_options const& options, protocol::robot_command const& command,
                                    std::atomic<bool> const& cancel)
{
    // Said here rather than by the child after fork(), so the reason is always the real one.
    if (::access(options.path.c_str(), X_OK) != 0)
        return {false, std::nullopt,
                error_object("COMMAND_FAILED", "cannot execute the command program " + options.path + ": " +
                                                   std::strerror(errno))};
    std::string const input = protocol::encode(command) + "\n";

    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string_view::npos && !is_withheld(entry))
            env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
    env["RELAY_COMMAND"] = command.command;
    env["RELAY_COMMAND_ID"] = command.id;
    env["RELAY_FROM_USER"] = command.from_user;
    env["RELAY_DEVICE_ID"] = options.device_id;

    support::spawn_options spawn;
    spawn.argv = {options.path};
    spawn.env = std::move(env);
    spawn.stdin_pipe = true;
    spawn.output_pipes = true;
    spawn.own_process_group = true; // so a timeout kills whatever it started too
    spawn.stop_signal = SIGKILL;
    std::optional<support::child_process> child;
    try {
        child.emplace(std::move(spawn));
    } catch (std::system_error const& e) {
        return {false, std::nullopt, error_object("COMMAND_FAILED", std::string("cannot start the command program: ") + e.what())};
    }
    int to_child = child->stdin_fd();
    ::fcntl(to_child, F_SETFL, ::fcntl(to_child, F_GETFL) | O_NONBLOCK);

    support::sigpipe_guard no_sigpipe;
    std::string stdout_text, stderr_text;
    std::size_t written = 0;
    bool out_open = true, err_open = true, timed_out = false, cancelled = false;
    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    char chunk[4096];
    if (input.empty()) {
        child->close_stdin();
        to_child = -1;
    }
    while (out_open || err_open) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        if (cancel.load()) {
            cancelled = true;
            break;
        }
        pollfd fds[3];
        nfds_t n = 0;
        int out_index = -1, err_index = -1, in_index = -1;
        if (out_open) {
            fds[n] = {child->stdout_fd(), POLLIN, 0};
            out_index = static_cast<int>(n++);
        }
        if (err_open) {
            fds[n] = {child->stderr_fd(), POLLIN, 0};
            err_index = static_cast<int>(n++);
        }
        if (to_child >= 0) {
            fds[n] = {to_child, POLLOUT, 0};
            in_index = static_cast<int>(n++);
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        // Short slices, so a cancellation (agent shutting down) is noticed promptly.
        int wait_ms = static_cast<int>(std::min<long long>(left, 100));
        if (::poll(fds, n, wait_ms) < 0 && errno != EINTR)
            break;
        if (in_index >= 0 && fds[in_index].revents) {
            auto w = ::write(to_child, input.data() + written, input.size() - written);
            if (w > 0)
                written += static_cast<std::size_t>(w);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                written = input.size(); // the program does not read its input: fine
            if (written == input.size()) {
                child->close_stdin();
                to_child = -1;
            }
        }
        auto drain = [&](int index, int fd, std::string& into, bool& open, std::size_t limit) {
            if (index < 0 || !fds[index].revents)
                return;
            auto r = ::read(fd, chunk, sizeof chunk);
            if (r > 0) {
                into.append(chunk, static_cast<std::size_t>(r));
                if (into.size() > limit)
                    into.erase(0, into.size() - limit); // keep the tail
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                open = false;
            }
        };
        drain(out_index, child->stdout_fd(), stdout_text, out_open, options.max_output);
        drain(err_index, child->stderr_fd(), stderr_text, err_open, 4096);
    }
    child->close_stdin();

    if (timed_out || cancelled) {
        child->stop(SIGKILL);
        auto why = timed_out ? "the command program did not finish within " + std::to_string(options.timeout.count()) + " ms"
                             : std::string("the robot agent is shutting down");
        return {false, std::nullopt, error_object(timed_out ? "TIMEOUT" : "CANCELLED", why)};
    }
    // Output closed; the program may still be exiting: wait for it, within the deadline.
    while (child->running()) {
        if (std::chrono::steady_clock::now() >= deadline || cancel.load()) {
            child->stop(SIGKILL);
            break;
        }
        child->wait(std::chrono::milliseconds(10));
    }
    int signal = child->end_signal();
    int status = child->status().value_or(-1);
    bool succeeded = signal == 0 && status == 0;
    std::string failure(trim(stderr_text));
    if (failure.empty())
        failure = signal == 0 ? "the command program exited with status " + std::to_string(status)
                              : "the command program was killed by signal " + std::to_string(signal);
    return interpret_output(succeeded, stdout_text, failure);
}

command_outcome call_command_webhook(robot::http_target const& webhook, protocol::robot_command const& command,
                                     std::chrono::milliseconds timeout)
{
    auto answer = robot::http_call(webhook, "POST", webhook.base_path.empty() ? "/" : webhook.base_path,
                            {{"Content-Type", "application/json"}}, protocol::encode(command), timeout, 1024 * 1024);
    if (!answer.ok)
        return {false, std::nullopt,
                error_object(answer.timed_out ? "TIMEOUT" : "WEBHOOK_UNREACHABLE", "the command webhook: " + answer.error)};
    return interpret_output(answer.status / 100 == 2, answer.body,
                            "the command webhook answered HTTP " + std::to_string(answer.status));
}

} // namespace relay::agent
