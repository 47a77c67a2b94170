// relayd: the relay daemon. `relayd [serve]` runs the server; other subcommands administer the
// same database (see `relayd --help`).
#include "admin.hpp"
#include "config.hpp"
#include "parts.hpp"

#include <relay/server/server.hpp>
#include <relay/protocol/common.hpp>
#include <relay/version.hpp>

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <thread>

extern char** environ;

namespace {

constexpr std::string_view usage = R"(relayd — the cloud relay between home robots and their owners' apps

usage:
  relayd [serve] [--config FILE] [flags]    run the relay (the default)
  relayd user add EMAIL                     create a user (password read from stdin or prompted)
  relayd user list                          list users
  relayd user reset-token EMAIL             print a single-use password-reset token
  relayd device add ID --owner EMAIL [--name NAME] [--public-key KEY|@FILE]
                                            create a device; prints its secret once, or with
                                            --public-key (base64url or a PEM file) stores only
                                            that Ed25519 key and prints no secret
  relayd device list                        list devices
  relayd device rotate ID                   new secret for a device; prints it once
  relayd db status                          the database's schema: each migration, applied or pending
                                            (exit status 1 when steps are pending or the schema is newer)
  relayd db migrate                         apply the pending migrations (relayd serve also does)
  relayd db copy --from LOCATION --to LOCATION [--replace]
                                            copy every account, token, device, membership and session
                                            into another database (a file or a postgresql:// URL) in one
                                            transaction; an occupied target needs --replace, which
                                            deletes what it holds first
  relayd --version                          print the version
  relayd --help                             this text

Settings come from the environment (RELAY_*), a --config FILE of KEY=VALUE lines with the same
names, and flags; flags win over the file, the file over the environment.

settings:
)";

int serve(relayd::config cfg)
{
    auto log_owner = std::make_shared<relay::telemetry::logger>(cfg.log_level, cfg.log_format);
    auto& log = *log_owner;
    for (auto prepare : {relayd::prepare_secret_key, relayd::prepare_jwt_secret})
        if (auto e = prepare(cfg); !e.empty()) {
            std::fprintf(stderr, "relayd: %s\n", e.c_str());
            return 2;
        }
    for (auto const& w : cfg.warnings)
        log.warn("config_warning", {{"message", w}});
    if (cfg.server.dev)
        log.warn("dev_mode", {{"message", "RELAY_DEV is on: reset tokens are logged and errors are verbose; "
                                           "never use it in production"}});

    // Signals are taken by one thread with sigwait, so no handler runs inside server code.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    std::string why;
    auto parts = relayd::make_parts(cfg, log_owner, std::make_shared<relay::telemetry::registry>(), why);
    if (!parts) {
        std::fprintf(stderr, "relayd: %s\n", why.c_str());
        return 1;
    }
    relay::server::server srv(cfg.server, std::move(*parts));
    if (auto ec = srv.start(why)) {
        std::fprintf(stderr, "relayd: %s\n", why.c_str());
        return 1;
    }
    std::thread signal_thread([&] {
        for (;;) {
            int sig = 0;
            sigwait(&signals, &sig);
            if (sig == SIGHUP) {
                log.info("signal", {{"signal", "SIGHUP"}});
                srv.reload_tls(); // logs the outcome; a bad new certificate keeps the old one
                continue;
            }
            log.info("signal", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
            srv.stop();
            return;
        }
    });
    srv.run();
    // run() also returns when the server stops by itself; wake the signal thread in that case.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args.front() == "--version" || args.front() == "version")) {
        fmt::print("relayd {} (protocol {})\n", relay::version, relay::protocol::protocol_version);
        return 0;
    }
    auto loaded = relayd::load_config(args, environ);
    if (loaded.help || (!loaded.rest.empty() && loaded.rest.front() == "help")) {
        fmt::print("{}{}", usage, relayd::settings_help());
        return 0;
    }
    if (!loaded.error.empty()) {
        std::fprintf(stderr, "relayd: %s\n", loaded.error.c_str());
        return 2;
    }
    auto& rest = loaded.rest;
    if (rest.empty() || rest.front() == "serve") {
        if (rest.size() > 1) {
            std::fprintf(stderr, "relayd: unexpected argument '%s' (see relayd --help)\n", rest[1].c_str());
            return 2;
        }
        return serve(std::move(loaded.cfg));
    }
    if (rest.front() == "user" || rest.front() == "device")
        return relayd::run_admin(std::move(loaded.cfg), rest);
    if (rest.front() == "db")
        return relayd::run_db(loaded.cfg, rest);
    std::fprintf(stderr, "relayd: unknown command '%s' (see relayd --help)\n", rest.front().c_str());
    return 2;
}
