#include "processes.hpp"

#include "stun_client.hpp"

#include "support/tools.hpp"

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace turn_test {
namespace {

using relay::support::read_text;
using relay::support::write_text;

void openssl(std::vector<std::string> args)
{
    args.insert(args.begin(), relay::test::require_program("openssl", "openssl"));
    auto [status, out] = relay::support::run_program(args, std::chrono::seconds(60));
    if (status != 0)
        throw std::runtime_error("openssl failed: " + out);
}

} // namespace

turnserver_process::turnserver_process(std::vector<std::string> const& secrets)
{
    auto program = relay::test::require_program("turnserver", "coturn");
    // Another process may take the port between free_port() and coturn's bind: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = relay::support::free_loopback_port();
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
        relay::support::spawn_options o;
        o.argv = std::move(argv);
        o.output_path = dir_.path() + "/stdout.txt";
        process_.emplace(std::move(o));
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (!process_->running())
                break; // it exited: probably the port; pick another
            if (stun_binding_ok(port_))
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        process_.reset();
    }
    throw std::runtime_error("turnserver did not start:\n" + read_text(dir_.path() + "/stdout.txt") + log());
}

turnserver_process::~turnserver_process() = default;

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
