#include "processes.hpp"

#include "stun_client.hpp"

#include "support/relayd_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace turn_test {
namespace {

std::string read_text(std::string const& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/** Starts argv[0] (a full path) with stdout and stderr into `out_path` and stdin from /dev/null. */
pid_t spawn(std::vector<std::string> const& argv, std::string const& out_path)
{
    std::vector<char*> args;
    for (auto const& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        int null = ::open("/dev/null", O_RDONLY);
        dup2(null, 0);
        execv(args[0], args.data());
        _exit(127);
    }
    return pid;
}

/** Ends a child we started: SIGTERM, then SIGKILL if it does not go within 5 s. */
void end_child(pid_t pid)
{
    kill(pid, SIGTERM);
    if (!relay::test::wait_for_exit(pid, std::chrono::seconds(5))) {
        kill(pid, SIGKILL);
        relay::test::wait_for_exit(pid, std::chrono::seconds(5));
    }
}

std::string must_find(std::string const& program)
{
    auto path = find_program(program);
    if (!path)
        throw std::runtime_error(program + " is not installed");
    return *path;
}

void openssl(std::vector<std::string> args)
{
    args.insert(args.begin(), must_find("openssl"));
    auto [status, out] = run_program(args);
    if (status != 0)
        throw std::runtime_error("openssl failed: " + out);
}

void write_text(std::string const& path, std::string const& text)
{
    std::ofstream(path) << text;
}

} // namespace

std::optional<std::string> find_program(std::string const& program)
{
    char const* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::stringstream ss(dirs);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        auto candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    for (auto const* dir2 : {"/usr/bin", "/usr/sbin", "/usr/local/bin"}) {
        auto candidate = std::string(dir2) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return std::nullopt;
}

std::pair<int, std::string> run_program(std::vector<std::string> const& argv, std::chrono::seconds limit)
{
    relay::test::temp_dir dir;
    auto out_path = dir.path() + "/out.txt";
    pid_t pid = spawn(argv, out_path);
    auto status = relay::test::wait_for_exit(pid, limit);
    if (!status) {
        end_child(pid);
        return {-1, read_text(out_path)};
    }
    return {*status, read_text(out_path)};
}

std::uint16_t free_port()
{
    namespace net = boost::asio;
    net::io_context io;
    for (int attempt = 0; attempt < 50; ++attempt) {
        net::ip::udp::socket udp(io, net::ip::udp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0));
        auto port = udp.local_endpoint().port();
        boost::system::error_code ec;
        net::ip::tcp::acceptor tcp(io);
        tcp.open(net::ip::tcp::v4(), ec);
        if (!ec) tcp.bind(net::ip::tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port), ec);
        if (!ec)
            return port;
    }
    throw std::runtime_error("no port free for both TCP and UDP");
}

turnserver_process::turnserver_process(std::vector<std::string> const& secrets)
{
    auto program = must_find("turnserver");
    // Another process may take the port between free_port() and coturn's bind: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_port();
        std::vector<std::string> argv{program,
                                      "-n",
                                      "--listening-ip=127.0.0.1",
                                      "--listening-port=" + std::to_string(port_),
                                      "--relay-ip=127.0.0.1",
                                      "--use-auth-secret",
                                      "--realm=relay.test",
                                      "--no-tls",
                                      "--no-dtls",
                                      "--no-cli",
                                      "--allow-loopback-peers",
                                      "--simple-log",
                                      "--no-stdout-log",
                                      "--log-file=" + dir_.path() + "/turn.log",
                                      "--pidfile=" + dir_.path() + "/turn.pid",
                                      "--db=" + dir_.path() + "/turndb"};
        for (auto const& s : secrets)
            argv.push_back("--static-auth-secret=" + s);
        pid_ = spawn(argv, dir_.path() + "/stdout.txt");
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (relay::test::wait_for_exit(pid_, std::chrono::milliseconds(0))) {
                pid_ = -1;
                break; // it exited: probably the port; pick another
            }
            if (stun_binding_ok(port_))
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (pid_ > 0) {
            end_child(pid_);
            pid_ = -1;
        }
    }
    throw std::runtime_error("turnserver did not start:\n" + read_text(dir_.path() + "/stdout.txt") + log());
}

turnserver_process::~turnserver_process()
{
    if (pid_ > 0)
        end_child(pid_);
}

std::string turnserver_process::log() const
{
    // coturn may add a date to the log file's name; read whatever it wrote.
    std::string text;
    std::error_code ec;
    for (auto const& entry : std::filesystem::directory_iterator(dir_.path(), ec))
        if (entry.path().filename().string().starts_with("turn") && entry.path().extension() == ".log")
            text += read_text(entry.path().string());
    return text;
}

test_pki::test_pki(std::string const& dir)
{
    ca_cert = dir + "/ca.pem";
    auto ca_key = dir + "/ca.key";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    other_host_cert = dir + "/other.pem";
    other_host_key = dir + "/other.key";
    unknown_ca_cert = dir + "/unknown-ca.pem";

    auto make_ca = [&](std::string const& cert, std::string const& key, std::string const& name) {
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                 "-out", cert, "-days", "2", "-subj", "/CN=" + name, "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    };
    auto make_leaf = [&](std::string const& cert, std::string const& key, std::string const& san) {
        auto csr = cert + ".csr";
        auto ext = cert + ".ext";
        write_text(ext, "subjectAltName=" + san + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                 csr, "-subj", "/CN=relay test server"});
        openssl({"x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                 "-days", "2", "-extfile", ext});
    };
    make_ca(ca_cert, ca_key, "relay test CA");
    make_leaf(server_cert, server_key, "DNS:localhost,IP:127.0.0.1");
    make_leaf(other_host_cert, other_host_key, "DNS:other.test");
    make_ca(unknown_ca_cert, dir + "/unknown-ca.key", "someone else's CA");
}

} // namespace turn_test
