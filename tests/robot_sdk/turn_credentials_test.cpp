// relay::robot::client::request_turn_credentials against a real relayd: the answer arrives
// through on_turn_credentials, signed for the device; a failing provider reaches on_error.
#include "sdk_test_support.hpp"
#include "support/relayd_process.hpp"

#include <relay/turn/coturn.hpp>

#include <optional>

using namespace relay::test;
namespace robot = relay::robot;

namespace {

/** Records on_turn_credentials; waits with a timeout. */
class credentials_seen {
public:
    void attach(robot::client& c)
    {
        c.on_turn_credentials([this](relay::protocol::turn_credentials const& m) {
            std::lock_guard lock(mutex_);
            got_.push_back(m);
            cv_.notify_all();
        });
    }
    std::optional<relay::protocol::turn_credentials> wait(std::size_t n, std::chrono::milliseconds timeout = 20s)
    {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, timeout, [&] { return got_.size() >= n; }))
            return std::nullopt;
        return got_[n - 1];
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<relay::protocol::turn_credentials> got_;
};

} // namespace

TEST_CASE("request_turn_credentials: the relay's answer reaches on_turn_credentials with the request's id")
{
    std::string const secret = "sdk-turn-secret";
    relayd_process relayd(test_env({{"RELAY_TURN_PROVIDER", "coturn"},
                                    {"RELAY_TURN_SECRET", secret},
                                    {"RELAY_TURN_URLS", "turns:127.0.0.1:5349,turn:127.0.0.1:3478"},
                                    {"RELAY_STUN_URLS", "stun:127.0.0.1:3478"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "sdk-turn-bot");

    robot::client robot(robot_options(relayd.port(), dev));
    client_events events;
    credentials_seen seen;
    events.attach(robot);
    seen.attach(robot);
    // Not connected yet: nothing is queued.
    CHECK(!robot.request_turn_credentials("early"));
    CHECK_THROWS_AS(robot.request_turn_credentials(std::string()), std::invalid_argument);
    robot.start();
    REQUIRE(events.wait_connects(1));

    REQUIRE(robot.request_turn_credentials("t1"));
    auto first = seen.wait(1);
    REQUIRE(first);
    CHECK(first->ref == std::optional<std::string>("t1"));
    auto const& c = first->credentials;
    CHECK(c.username == std::to_string(c.expires_at) + ":sdk-turn-bot");
    CHECK(c.credential == relay::turn::rest_api_credential(secret, c.username));
    REQUIRE(!c.urls.empty());
    CHECK(c.urls.front() == "turn:127.0.0.1:3478");

    REQUIRE(robot.request_turn_credentials());
    auto second = seen.wait(2);
    REQUIRE(second);
    CHECK(!second->ref);
    CHECK(events.errors().empty());
    robot.stop();
}

TEST_CASE("request_turn_credentials while the provider is down: TURN_UNAVAILABLE reaches on_error with ref")
{
    // Port 1 on loopback: nothing listens, so the Cloudflare API is unreachable at once.
    relayd_process relayd(test_env({{"RELAY_TURN_PROVIDER", "cloudflare"},
                                    {"RELAY_CF_TURN_KEY_ID", "key-123"},
                                    {"RELAY_CF_TURN_API_TOKEN", "tok-secret"},
                                    {"RELAY_CF_API_BASE", "https://127.0.0.1:1/v1"}}));
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner);

    robot::client robot(robot_options(relayd.port(), dev));
    client_events events;
    credentials_seen seen;
    events.attach(robot);
    seen.attach(robot);
    robot.start();
    REQUIRE(events.wait_connects(1));
    REQUIRE(robot.request_turn_credentials("t1"));
    REQUIRE(events.wait_errors(1));
    auto e = events.errors().front();
    CHECK(e.code == relay::errc::turn_unavailable);
    CHECK(e.ref == std::optional<std::string>("t1"));
    CHECK(!seen.wait(1, 200ms));
    CHECK(robot.connected());
    robot.stop();
}
