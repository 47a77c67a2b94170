#include "support/relayd_process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace relay::test {
namespace {

std::string read_file(std::string const& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> make_env(std::map<std::string, std::string> env)
{
    env.try_emplace("RELAY_HOST", "127.0.0.1");
    env.try_emplace("RELAY_PORT", "0");
    env.try_emplace("RELAY_DATABASE", ":memory:");
    env.try_emplace("RELAY_THREADS", "2");
    if (auto* path = std::getenv("PATH")) env.try_emplace("PATH", path);
    std::vector<std::string> out;
    for (auto const& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

pid_t spawn(std::vector<std::string> const& args, std::vector<std::string> const& env, std::string const& out_path,
            int stdin_fd)
{
    std::vector<char*> argv;
    // RELAY_TEST_RELAYD runs the suites against another build of relayd (a sanitizer build, say).
    auto const* other = std::getenv("RELAY_TEST_RELAYD");
    std::string bin = other && *other ? other : RELAY_TEST_RELAYD;
    argv.push_back(bin.data());
    for (auto const& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto const& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        if (stdin_fd >= 0) dup2(stdin_fd, 0);
        else {
            int null = ::open("/dev/null", O_RDONLY);
            dup2(null, 0);
        }
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    return pid;
}

int wait_status(pid_t pid)
{
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

std::string fresh_path(std::string const& stem)
{
    static int counter = 0;
    return (std::filesystem::temp_directory_path() /
            (stem + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".log"))
        .string();
}

} // namespace

relayd_process::relayd_process(std::map<std::string, std::string> env, std::vector<std::string> args)
    : log_path_(fresh_path("relayd-"))
{
    pid_ = spawn(args, make_env(std::move(env)), log_path_, -1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        auto text = read_file(log_path_);
        // Either log format: "… listening host=… port=N" or {"event":"listening",…,"port":N}.
        for (auto [marker, key] : {std::pair{" listening ", "port="}, std::pair{"\"event\":\"listening\"", "\"port\":"}}) {
            auto at = text.find(marker);
            if (at == std::string::npos) continue;
            auto p = text.find(key, at);
            if (p != std::string::npos) {
                port_ = static_cast<std::uint16_t>(std::atoi(text.c_str() + p + std::strlen(key)));
                return;
            }
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("relayd exited at start:\n" + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop(SIGKILL);
    throw std::runtime_error("relayd did not start listening:\n" + read_file(log_path_));
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
            return -1;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

relayd_process::~relayd_process()
{
    if (pid_ > 0)
        stop(SIGKILL);
    std::error_code ec;
    std::filesystem::remove(log_path_, ec);
}

int relayd_process::stop(int sig)
{
    if (pid_ <= 0)
        return -1;
    kill(pid_, sig);
    int status = wait_status(pid_);
    pid_ = -1;
    return status;
}

std::string relayd_process::output() const
{
    return read_file(log_path_);
}

std::pair<int, std::string> run_relayd(std::vector<std::string> const& args,
                                       std::map<std::string, std::string> const& env, std::string const& stdin_text)
{
    auto out_path = fresh_path("relayd-run-");
    int fds[2] = {-1, -1};
    // Close-on-exec, so the child does not hold the write end open and never see end of input.
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    pid_t pid = spawn(args, make_env(env), out_path, fds[0]);
    close(fds[0]);
    if (!stdin_text.empty())
        (void)!write(fds[1], stdin_text.data(), stdin_text.size());
    close(fds[1]);
    int status = wait_status(pid);
    auto text = read_file(out_path);
    std::filesystem::remove(out_path);
    return {status, text};
}

temp_dir::temp_dir()
{
    std::string tmpl = (std::filesystem::temp_directory_path() / "relay-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
        throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

temp_dir::~temp_dir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

} // namespace relay::test
