// examples/embed run as a user would run it: a program that embeds librelay with its own reset
// notifier and command hook. The relay answers as relayd does; the embedder's parts are called.
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

using namespace relay::test;
namespace json = boost::json;

#ifdef RELAY_TEST_EMBED
namespace {

/** The example, started by relayd_process: RELAY_TEST_RELAYD names the binary it runs. */
std::unique_ptr<relayd_process> start_embed()
{
    char const* before = std::getenv("RELAY_TEST_RELAYD");
    std::optional<std::string> saved = before ? std::optional<std::string>(before) : std::nullopt;
    ::setenv("RELAY_TEST_RELAYD", RELAY_TEST_EMBED, 1);
    auto restore = [&] {
        if (saved)
            ::setenv("RELAY_TEST_RELAYD", saved->c_str(), 1);
        else
            ::unsetenv("RELAY_TEST_RELAYD");
    };
    try {
        auto p = std::make_unique<relayd_process>(test_env());
        restore();
        return p;
    } catch (...) {
        restore();
        throw;
    }
}

/** Waits (generously) until the program's output holds `line`; a positive event, not a pause. */
bool output_shows(relayd_process const& p, std::string const& line)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (p.output().find(line) != std::string::npos)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

} // namespace
#endif

#ifdef RELAY_TEST_EMBED
TEST_CASE("examples/embed: the embedder's reset notifier prints the link and its hook sees every command")
{
    auto relay = start_embed();
    auto const port = relay->port();

    auto user = make_account(port, "embed");
    auto reset = http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", user.email}});
    CHECK(reset.status == 202);
    CHECK(output_shows(*relay, "reset link for " + user.email + ": https://robots.example.com/console/#/reset?token="));

    auto device = make_device(port, user);
    auto robot = connect_robot(port, device);
    CHECK(output_shows(*relay, "robot " + device.device_id + " is online"));
    auto app = connect_app(port, user);
    app->send(json::object{{"type", "command"}, {"device_id", device.device_id}, {"id", "c1"}, {"command", "dock"}});
    CHECK_FALSE(app->expect("ack").is_null());
    auto forwarded = robot->expect("command");
    REQUIRE_FALSE(forwarded.is_null());
    CHECK(forwarded.at("command").as_string() == "dock");
    CHECK(output_shows(*relay, "command dock to " + device.device_id + " from " + user.user_id));

    CHECK(relay->stop() == 0);
}
#else
TEST_CASE("examples/embed: the embedder's reset notifier prints the link and its hook sees every command" *
          doctest::skip(true))
{
    // Built with RELAY_BUILD_EXAMPLES=OFF: there is no example to run, and ctest says skipped.
}
#endif
