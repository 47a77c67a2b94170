#include "relay_support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace relay::support {
namespace {

[[noreturn]] void throw_errno(char const* what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

/** A file descriptor closed by its destructor. */
struct fd_guard {
    int fd = -1;
    ~fd_guard()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

/** A pipe, both ends close-on-exec: no other child holds an end open (a reader would never see
 * end of file); the child's own ends are dup2()ed, which clears the flag. */
void make_pipe(fd_guard& read_end, fd_guard& write_end)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw_errno("pipe");
    read_end.fd = fds[0];
    write_end.fd = fds[1];
}

int open_output(std::string const& path, bool append)
{
    if (path.empty())
        return ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
}

/** A socket of `type` bound to 127.0.0.1:port (0: any), or -1; its port in *bound. */
int bind_loopback(int type, std::uint16_t port, std::uint16_t* bound)
{
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        return -1;
    }
    if (bound)
        *bound = ntohs(addr.sin_port);
    return fd;
}

/** waitpid's status for `pid` once it exits within `limit` (-1 when it cannot be waited for),
 * or nullopt while it runs. */
std::optional<int> wait_raw(pid_t pid, std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

/** An exit status; 128 + signal for one a signal ended; -1 for anything else. */
int encode_status(int raw)
{
    if (raw != -1 && WIFEXITED(raw))
        return WEXITSTATUS(raw);
    if (raw != -1 && WIFSIGNALED(raw))
        return 128 + WTERMSIG(raw);
    return -1;
}

} // namespace

std::optional<std::string> find_program(std::string_view program)
{
    char const* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    std::stringstream ss(dirs);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty())
            continue;
        auto candidate = dir + "/" + std::string(program);
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return std::nullopt;
}

std::uint16_t free_loopback_port()
{
    for (int attempt = 0; attempt < 50; ++attempt) {
        std::uint16_t port = 0;
        fd_guard tcp{bind_loopback(SOCK_STREAM, 0, &port)};
        if (tcp.fd < 0)
            continue;
        fd_guard udp{bind_loopback(SOCK_DGRAM, port, nullptr)};
        if (udp.fd >= 0)
            return port;
    }
    throw std::runtime_error("no port on 127.0.0.1 free for both TCP and UDP");
}

bool wait_listening(std::uint16_t port, std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        fd_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        if (s.fd >= 0 && ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string read_text(std::string const& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text(std::string const& path, std::string_view text)
{
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds limit)
{
    auto raw = wait_raw(pid, limit);
    if (!raw)
        return std::nullopt;
    return encode_status(*raw);
}

temp_dir::temp_dir()
{
    std::string tmpl = (std::filesystem::temp_directory_path() / "relay-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
        throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

temp_dir::~temp_dir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

child_process::child_process(spawn_options options) : options_(std::move(options))
{
    if (options_.argv.empty())
        throw std::invalid_argument("child_process: no program");
    // Everything the child needs is made before fork(): after it, only exec-safe calls.
    std::vector<char*> argv;
    for (auto& a : options_.argv)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    std::vector<char*> envp;
    if (options_.env) {
        for (auto const& [k, v] : *options_.env)
            env_strings.push_back(k + "=" + v);
        for (auto& e : env_strings)
            envp.push_back(e.data());
        envp.push_back(nullptr);
    }
    fd_guard out, err, out_read, err_read;
    if (options_.output_pipes) {
        make_pipe(out_read, out);
        make_pipe(err_read, err);
        for (int fd : {out_read.fd, err_read.fd})
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    } else {
        out.fd = open_output(options_.output_path, options_.append_output);
        if (out.fd < 0)
            throw_errno(("cannot open " + options_.output_path).c_str());
        err.fd = options_.error_path.empty() ? ::dup(out.fd) : open_output(options_.error_path, options_.append_output);
        if (err.fd < 0)
            throw_errno(("cannot open " + options_.error_path).c_str());
    }
    fd_guard in_read, in_write;
    if (options_.stdin_pipe) {
        make_pipe(in_read, in_write);
    } else {
        in_read.fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    pid_t parent = ::getpid();
    char** child_env = options_.env ? envp.data() : environ;
    std::string const exec_failed = "cannot execute " + options_.argv[0] + "\n";

    pid_ = ::fork();
    if (pid_ < 0)
        throw_errno("fork");
    if (pid_ == 0) {
        if (options_.own_process_group)
            ::setpgid(0, 0);
        if (options_.end_with_parent) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent)
                ::_exit(1);
        }
        ::dup2(in_read.fd, 0);
        ::dup2(out.fd, 1);
        ::dup2(err.fd, 2);
        ::execve(argv[0], argv.data(), child_env);
        (void)!::write(2, exec_failed.data(), exec_failed.size());
        ::_exit(127);
    }
    std::swap(stdin_, in_write.fd);
    std::swap(stdout_, out_read.fd);
    std::swap(stderr_, err_read.fd);
}

child_process::~child_process()
{
    close_stdin();
    if (pid_ > 0)
        stop(options_.stop_signal, options_.stop_grace);
    for (int fd : {stdout_, stderr_})
        if (fd >= 0)
            ::close(fd);
}

bool child_process::reap(std::chrono::milliseconds limit)
{
    auto raw = wait_raw(pid_, limit);
    if (!raw)
        return false;
    pid_ = -1; // reaped: never signal this pid again
    status_ = encode_status(*raw);
    end_signal_ = *raw != -1 && WIFSIGNALED(*raw) ? WTERMSIG(*raw) : 0;
    return true;
}

bool child_process::running()
{
    return pid_ > 0 && !reap(std::chrono::milliseconds(0));
}

bool child_process::write_stdin(std::string_view text)
{
    sigpipe_guard no_sigpipe;
    while (!text.empty() && stdin_ >= 0) {
        auto n = ::write(stdin_, text.data(), text.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return text.empty();
}

void child_process::close_stdin()
{
    if (stdin_ >= 0)
        ::close(stdin_);
    stdin_ = -1;
}

std::optional<int> child_process::wait(std::chrono::milliseconds limit)
{
    if (pid_ > 0)
        reap(limit);
    return status_;
}

void child_process::signal(int sig)
{
    if (pid_ > 0)
        ::kill(pid_, sig);
}

int child_process::stop(int sig, std::chrono::milliseconds limit)
{
    if (pid_ <= 0)
        return status_.value_or(-1);
    ::kill(pid_, sig);
    if (options_.own_process_group)
        ::kill(-pid_, sig);
    if (!wait(limit)) {
        ::kill(options_.own_process_group ? -pid_ : pid_, SIGKILL);
        reap(std::chrono::seconds(30));
        pid_ = -1;
        status_ = -1;
    }
    return *status_;
}

std::string child_process::output() const
{
    return read_text(options_.output_path);
}

sigpipe_guard::sigpipe_guard()
{
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
}

sigpipe_guard::~sigpipe_guard()
{
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

run_result run_program(std::vector<std::string> argv, std::chrono::milliseconds limit, std::string_view input,
                       std::optional<std::map<std::string, std::string>> env)
{
    temp_dir dir;
    spawn_options o;
    o.argv = std::move(argv);
    o.env = std::move(env);
    o.output_path = dir.path() + "/output";
    o.stdin_pipe = !input.empty();
    // Its own group: a time-out also ends whatever a shell script started.
    o.own_process_group = true;
    o.stop_signal = SIGKILL;
    child_process p(std::move(o));
    p.write_stdin(input);
    p.close_stdin();
    run_result r;
    r.status = p.wait(limit).value_or(-1);
    if (p.running()) {
        p.stop(SIGKILL, std::chrono::seconds(10));
        r.status = -1;
    }
    r.output = p.output();
    return r;
}

} // namespace relay::support
