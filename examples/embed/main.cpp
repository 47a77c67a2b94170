// relay-embed: the relay server inside another program. It replaces two parts of the default
// set (relay/server/parts.hpp): the reset notifier prints a link instead of logging, and a hook
// logs every command an app sends to a robot. Every other part keeps its default: SQLite (here
// in memory), the in-process broker, TURN "none".
//
// Settings: RELAY_HOST (default 127.0.0.1), RELAY_PORT (default 8000; 0 picks a free one),
// RELAY_DATABASE (default :memory:). Stops on SIGINT or SIGTERM.
#include <relay/auth/crypto.hpp>
#include <relay/server/server.hpp>

#include <signal.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <pthread.h>

namespace {

std::string setting(char const* name, char const* fallback)
{
    char const* value = std::getenv(name);
    return value && *value ? value : fallback;
}

/** Hands the reset token to the user as a link to the console's reset page (reset_link); a real
 * program would send it by mail. */
class printing_notifier final : public relay::server::reset_notifier {
public:
    explicit printing_notifier(std::string public_url) : public_url_(std::move(public_url)) {}

    // Runs on the server's blocking pool, so it may take its time.
    void send(std::string const& email, std::string const& token) override
    {
        std::fprintf(stderr, "reset link for %s: %s\n", email.c_str(),
                     relay::server::reset_link(public_url_, token).c_str());
    }

private:
    std::string public_url_;
};

} // namespace

int main()
{
    relay::server::server_options options;
    options.host = setting("RELAY_HOST", "127.0.0.1");
    options.port = static_cast<std::uint16_t>(std::stoi(setting("RELAY_PORT", "8000")));
    options.database = setting("RELAY_DATABASE", ":memory:");
    options.threads = 2;
    options.scrypt_log_n = 10; // quick password hashing: an example, not a production relay
    // Fresh keys each start: tokens and sealed device secrets do not survive a restart.
    options.jwt_secret = relay::auth::random_bytes(32);
    options.secret_key = relay::auth::random_bytes(32);

    relay::server::parts parts;
    parts.reset_notifier = std::make_shared<printing_notifier>("https://robots.example.com");
    // Hooks run on a network thread: they must be quick and never block.
    parts.hooks.on_command = [](std::string const& user_id, relay::protocol::app_command const& c) {
        std::fprintf(stderr, "command %s to %s from %s\n", c.command.c_str(), c.device_id.c_str(), user_id.c_str());
    };
    parts.hooks.on_robot_online = [](std::string const& device_id) {
        std::fprintf(stderr, "robot %s is online\n", device_id.c_str());
    };

    // SIGINT and SIGTERM are blocked before the server starts any thread (its pool, its network
    // threads), so they reach only the sigwait below and no handler runs inside the server.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    relay::server::server server(options, std::move(parts));
    std::string why;
    if (server.start(why)) {
        std::fprintf(stderr, "relay-embed: %s\n", why.c_str());
        return 1;
    }

    // The server runs on a thread of its own while this one waits for a signal.
    std::thread serving([&server] { server.run(); }); // logs "listening … port=N"
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    server.stop();
    serving.join();
    return 0;
}
