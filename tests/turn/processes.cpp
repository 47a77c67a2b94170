#include "processes.hpp"

#include "support/tools.hpp"

#include <relay/turn/turn_client.hpp>

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace turn_test {
namespace {

using relay::support::read_text;

} // namespace

turnserver_process::turnserver_process(std::vector<std::string> const& secrets,
                                       std::optional<turnserver_tls> const& tls)
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
        if (tls) {
            tls_port_ = relay::support::free_loopback_port();
            argv.insert(argv.end(), {"--tls-listening-port=" + std::to_string(tls_port_), "--cert=" + tls->cert_file,
                                     "--pkey=" + tls->key_file});
        } else {
            argv.push_back("--no-tls");
        }
        relay::support::spawn_options o;
        o.argv = std::move(argv);
        o.output_path = dir_.path() + "/stdout.txt";
        process_.emplace(std::move(o));
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (!process_->running())
                break; // it exited: probably the port; pick another
            relay::turn::client_options quick;
            quick.timeout = std::chrono::milliseconds(300);
            if (relay::turn::stun_binding("stun:127.0.0.1:" + std::to_string(port_), quick).ok)
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

} // namespace turn_test
