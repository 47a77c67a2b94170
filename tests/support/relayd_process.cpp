#include "support/relayd_process.hpp"

#include "pg/postgres_server.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace relay::test {
namespace {

/** relayd's command line and environment: a clean environment plus `env`, and the defaults a
 * test relay needs (loopback, a port of its choosing, an in-memory database). */
support::spawn_options relayd_options(std::vector<std::string> const& args, std::map<std::string, std::string> env,
                                      std::string out_path)
{
    env.try_emplace("RELAY_HOST", "127.0.0.1");
    env.try_emplace("RELAY_PORT", "0");
    env.try_emplace("RELAY_DATABASE", ":memory:");
    env.try_emplace("RELAY_THREADS", "2");
    if (auto* path = std::getenv("PATH")) env.try_emplace("PATH", path);
    support::spawn_options o;
    // RELAY_TEST_RELAYD runs the suites against another build of relayd (a sanitizer build, say).
    auto const* other = std::getenv("RELAY_TEST_RELAYD");
    o.argv.push_back(other && *other ? other : RELAY_TEST_RELAYD);
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = std::move(env);
    o.output_path = std::move(out_path);
    o.stop_signal = SIGKILL;
    return o;
}

std::string fresh_path(std::string const& stem)
{
    static int counter = 0;
    return (std::filesystem::temp_directory_path() /
            (stem + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".log"))
        .string();
}

/** With RELAY_TEST_DATABASE=postgresql (the suites' second run, integration-pg), a relayd the test
 * gave no database gets a fresh one on the shared PostgreSQL server, and the key PostgreSQL needs:
 * the database's URL, or "" when it keeps the default. */
std::string use_postgresql_if_asked(env_map& env)
{
    auto const* asked = std::getenv("RELAY_TEST_DATABASE");
    if (!asked || std::string_view(asked) != "postgresql" || env.contains("RELAY_DATABASE"))
        return {};
    auto url = pg::shared_server().create_database();
    env["RELAY_DATABASE"] = url;
    env.try_emplace("RELAY_SECRET_KEY", auth::hex_encode(auth::random_bytes(32)));
    return url;
}

} // namespace

relayd_process::relayd_process(std::map<std::string, std::string> env, std::vector<std::string> args)
    : log_path_(fresh_path("relayd-"))
{
    postgres_database_ = use_postgresql_if_asked(env);
    process_.emplace(relayd_options(args, std::move(env), log_path_));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        auto text = output();
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
        if (!process_->running())
            throw std::runtime_error("relayd exited at start:\n" + text);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    process_->stop(SIGKILL);
    throw std::runtime_error("relayd did not start listening:\n" + output());
}

relayd_process::~relayd_process()
{
    process_.reset();
    if (!postgres_database_.empty()) {
        // Whatever the test did, the database password never reaches relayd's output.
        if (output().find(pg::shared_server().password()) != std::string::npos)
            FAIL_CHECK("the database password reached relayd's output:\n" << output());
        try {
            pg::shared_server().drop_database(postgres_database_);
        } catch (std::exception const&) {
            // Left for the server's own removal at the end of the run.
        }
    }
    std::error_code ec;
    std::filesystem::remove(log_path_, ec);
}

int relayd_process::stop(int sig)
{
    if (!process_ || process_->status())
        return -1;
    // Generous: a relay draining its connections takes up to its grace period; one that takes
    // longer than this is killed and the status says so (-1).
    return process_->stop(sig, std::chrono::seconds(120));
}

std::string relayd_process::output() const
{
    return support::read_text(log_path_);
}

std::pair<int, std::string> run_relayd(std::vector<std::string> const& args,
                                       std::map<std::string, std::string> const& env, std::string const& stdin_text)
{
    support::temp_dir dir;
    auto o = relayd_options(args, env, dir.path() + "/output");
    o.stdin_pipe = true;
    support::child_process p(std::move(o));
    p.write_stdin(stdin_text);
    p.close_stdin();
    auto status = p.wait(std::chrono::seconds(120)).value_or(-1);
    return {status, p.output()};
}

} // namespace relay::test
