#include "deploy_processes.hpp"

#include "support/relayd_process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ops_test {
namespace {

namespace net = boost::asio;

pid_t spawn(std::vector<std::string> const& argv, std::string const& out_path,
            std::optional<std::map<std::string, std::string>> const& env)
{
    std::vector<char*> args;
    for (auto const& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    std::vector<char*> envp;
    if (env) {
        for (auto const& [k, v] : *env)
            env_strings.push_back(k + "=" + v);
        for (auto& e : env_strings)
            envp.push_back(e.data());
        envp.push_back(nullptr);
    }
    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        // Its own process group, so that a shell's children can be ended with it.
        setpgid(0, 0);
        int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        int null = ::open("/dev/null", O_RDONLY);
        dup2(null, 0);
        execve(args[0], args.data(), env ? envp.data() : environ);
        _exit(127);
    }
    return pid;
}

} // namespace

std::optional<std::string> find_program(std::string const& program)
{
    char const* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    dirs += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    std::stringstream ss(dirs);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) continue;
        auto candidate = dir + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return std::nullopt;
}

std::uint16_t free_port()
{
    net::io_context io;
    for (int attempt = 0; attempt < 50; ++attempt) {
        net::ip::tcp::acceptor tcp(io, net::ip::tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0));
        auto port = tcp.local_endpoint().port();
        boost::system::error_code ec;
        net::ip::udp::socket udp(io);
        udp.open(net::ip::udp::v4(), ec);
        if (!ec) udp.bind(net::ip::udp::endpoint(net::ip::make_address_v4("127.0.0.1"), port), ec);
        if (!ec)
            return port;
    }
    throw std::runtime_error("no port free for both TCP and UDP");
}

bool wait_listening(std::uint16_t port, std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        net::io_context io;
        net::ip::tcp::socket s(io);
        boost::system::error_code ec;
        s.connect(net::ip::tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port), ec);
        if (!ec)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::string read_text(std::string const& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text(std::string const& path, std::string const& text)
{
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

std::pair<int, std::string> run_program(std::vector<std::string> const& argv, std::chrono::seconds limit)
{
    relay::test::temp_dir dir;
    auto out_path = dir.path() + "/out.txt";
    pid_t pid = spawn(argv, out_path, std::nullopt);
    auto status = relay::test::wait_for_exit(pid, limit);
    if (!status) {
        kill(-pid, SIGKILL);
        relay::test::wait_for_exit(pid, std::chrono::seconds(10));
        return {-1, read_text(out_path)};
    }
    return {*status, read_text(out_path)};
}

child_process::child_process(std::vector<std::string> argv, std::string log_path,
                             std::optional<std::map<std::string, std::string>> env)
    : log_path_(std::move(log_path))
{
    pid_ = spawn(argv, log_path_, env);
}

child_process::~child_process()
{
    if (pid_ > 0)
        stop(SIGTERM, std::chrono::seconds(10));
}

int child_process::stop(int sig, std::chrono::seconds limit)
{
    if (pid_ <= 0)
        return status_.value_or(-1);
    kill(pid_, sig);
    auto status = relay::test::wait_for_exit(pid_, limit);
    if (!status) {
        kill(-pid_, SIGKILL);
        relay::test::wait_for_exit(pid_, std::chrono::seconds(10));
        status = -1;
    }
    pid_ = -1;
    status_ = status;
    return *status;
}

bool child_process::exited()
{
    if (pid_ <= 0)
        return true;
    if (auto status = relay::test::wait_for_exit(pid_, std::chrono::milliseconds(0))) {
        pid_ = -1; // reaped: never signal this pid again
        status_ = status;
        return true;
    }
    return false;
}

} // namespace ops_test
