// The proof the issue asks for: a stock coturn (`turnserver` with use-auth-secret) on loopback
// accepts the credentials GET /api/turn/credentials hands out and allocates a relay address,
// and refuses a wrong secret or an expired credential with STUN error 401, the very error that
// made robots fail with "aioice.stun.TransactionFailed: STUN transaction failed (401)".
#include "processes.hpp"

#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"
#include "support/tools.hpp"

#include <relay/turn/coturn.hpp>
#include <relay/turn/turn_client.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>

using namespace relay::test;
using namespace turn_test;

namespace {

struct issued {
    std::string username;
    std::string credential;
    std::string first_url;
};

/** Credentials for a fresh user and device from a relayd signing with `secrets`. */
issued credentials_from_relay(std::string const& secrets, std::uint16_t turn_port)
{
    auto turn_url = "turn:127.0.0.1:" + std::to_string(turn_port);
    relayd_process relayd(test_env({{"RELAY_TURN_PROVIDER", "coturn"},
                                    {"RELAY_TURN_SECRET", secrets},
                                    {"RELAY_TURN_URLS", turn_url + "?transport=tcp," + turn_url + "?transport=udp"}}));
    auto owner = make_account(relayd.port());
    auto device = make_device(relayd.port(), owner);
    auto r = http_get(relayd.port(), "/api/turn/credentials?device_id=" + device.device_id, owner.access_token);
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    auto j = r.json().as_object();
    return {std::string(j.at("username").as_string()), std::string(j.at("credential").as_string()),
            std::string(j.at("urls").as_array().at(0).as_string())};
}

/** An Allocate on coturn's UDP port with the library's TURN client (released again). */
relay::turn::allocation_outcome turn_allocate(std::uint16_t port, std::string const& username,
                                              std::string const& password)
{
    return relay::turn::allocate_and_release("turn:127.0.0.1:" + std::to_string(port), username, password);
}

std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/** coturn's own test client: exit status 0 once it allocated and relayed its packets. */
relay::support::run_result uclient(std::uint16_t port, std::string const& username, std::string const& password)
{
    auto program = require_program("turnutils_uclient", "coturn");
    return relay::support::run_program({program, "-y", "-n", "1", "-u", username, "-w", password, "-p",
                                        std::to_string(port), "127.0.0.1"},
                                       std::chrono::seconds(60));
}

} // namespace

TEST_CASE("coturn allocates a relay address with credentials from GET /api/turn/credentials")
{
    turnserver_process coturn({"shared-turn-secret"});
    auto creds = credentials_from_relay("shared-turn-secret", coturn.port());
    CHECK(creds.first_url == "turn:127.0.0.1:" + std::to_string(coturn.port()) + "?transport=udp");

    auto allocated = turn_allocate(coturn.port(), creds.username, creds.credential);
    CAPTURE(coturn.log());
    CAPTURE(allocated.answer);
    CHECK(allocated.ok());
    CHECK(allocated.released);
    CHECK(allocated.relayed_address.starts_with("127.0.0.1:"));

    auto [status, output] = uclient(coturn.port(), creds.username, creds.credential);
    CAPTURE(output);
    CHECK(status == 0);
}

TEST_CASE("coturn refuses a wrong secret and an expired credential with STUN 401")
{
    turnserver_process coturn({"shared-turn-secret"});

    SUBCASE("the relay signs with another secret than coturn's")
    {
        auto creds = credentials_from_relay("not-the-turn-secret", coturn.port());
        auto refused = turn_allocate(coturn.port(), creds.username, creds.credential);
        CAPTURE(coturn.log());
        CHECK(refused.kind == relay::turn::outcome_kind::refused);
        CHECK(refused.error_code == 401);
        CHECK(refused.answer == "401 Unauthorized");
        auto [status, output] = uclient(coturn.port(), creds.username, creds.credential);
        CAPTURE(output);
        CHECK(status != 0);
        CHECK(output.find("Cannot complete Allocation") != std::string::npos);
    }
    SUBCASE("the right secret, but the expiry has passed")
    {
        auto username = std::to_string(unix_now() - 60) + ":u-expired";
        auto credential = relay::turn::rest_api_credential("shared-turn-secret", username);
        auto refused = turn_allocate(coturn.port(), username, credential);
        CHECK(refused.kind == relay::turn::outcome_kind::refused);
        CHECK(refused.error_code == 401);
        // The same credential with a future expiry is fine: it is the time that is refused.
        auto valid = std::to_string(unix_now() + 600) + ":u-expired";
        auto accepted = turn_allocate(coturn.port(), valid, relay::turn::rest_api_credential("shared-turn-secret", valid));
        CHECK(accepted.ok());
        CHECK_FALSE(accepted.relayed_address.empty());
    }
}

TEST_CASE("secret rotation: coturn lists both secrets, the relay signs with the first")
{
    // Step 1 of a rotation: coturn accepts the new and the old secret.
    turnserver_process coturn({"new-turn-secret", "old-turn-secret"});
    // Step 2: the relay signs with the new one, keeping the old one listed second.
    auto creds = credentials_from_relay("new-turn-secret,old-turn-secret", coturn.port());
    CHECK(creds.credential == relay::turn::rest_api_credential("new-turn-secret", creds.username));
    CHECK(turn_allocate(coturn.port(), creds.username, creds.credential).ok());
    // Credentials an older relay signed with the old secret keep working until they expire.
    auto old_username = std::to_string(unix_now() + 600) + ":u-old";
    auto old_credential = relay::turn::rest_api_credential("old-turn-secret", old_username);
    CHECK(turn_allocate(coturn.port(), old_username, old_credential).ok());
}
