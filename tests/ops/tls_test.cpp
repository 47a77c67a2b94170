// relayd serving https and wss itself (RELAY_TLS_CERT, RELAY_TLS_KEY), with a CA made by the test:
// verified clients, refused bad configuration, and certificate reload on SIGHUP that drops nobody.
#include "processes.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <relay/auth/device_auth.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <thread>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

struct tls_rig {
    temp_dir dir;
    turn_test::test_pki pki{dir.path()};
    std::string cert = dir.path() + "/live-cert.pem";
    std::string key = dir.path() + "/live-key.pem";
    tls_rig()
    {
        std::filesystem::copy_file(pki.server_cert, cert);
        std::filesystem::copy_file(pki.server_key, key);
    }
    env_map env() const { return test_env({{"RELAY_TLS_CERT", cert}, {"RELAY_TLS_KEY", key}}); }
};

} // namespace

TEST_CASE("https and wss with a verified certificate; plain HTTP is not spoken on the TLS port")
{
    tls_rig rig;
    relayd_process relayd(rig.env());
    CHECK(relayd.output().find("tls=true") != std::string::npos);

    auto health = https_call(relayd.port(), rig.pki.ca_cert, "GET", "/health");
    CHECK(health.status == 200);
    CHECK(health.json().at("status") == "ok");
    // A client that does not trust the relay's CA refuses it.
    CHECK_THROWS(https_call(relayd.port(), rig.pki.unknown_ca_cert, "GET", "/health"));
    // Plain HTTP to the TLS port gets no HTTP answer, and the relay carries on.
    CHECK_THROWS(http_get(relayd.port(), "/health"));
    CHECK(https_call(relayd.port(), rig.pki.ca_cert, "GET", "/health").status == 200);

    // Accounts over https, then both sockets over wss.
    json::object creds{{"email", "tls@example.com"}, {"password", "correct horse battery"}};
    CHECK(https_call(relayd.port(), rig.pki.ca_cert, "POST", "/api/auth/register", json::serialize(creds)).status == 201);
    auto login = https_call(relayd.port(), rig.pki.ca_cert, "POST", "/api/auth/login", json::serialize(creds));
    REQUIRE(login.status == 200);
    std::string token(login.json().at("access_token").as_string());
    header_list bearer{{"Authorization", "Bearer " + token}};
    auto created = https_call(relayd.port(), rig.pki.ca_cert, "POST", "/api/devices",
                              json::serialize(json::object{{"name", "tls bot"}, {"device_id", "tls-bot"}}), bearer);
    REQUIRE(created.status == 201);
    std::string secret(created.json().at("device_secret").as_string());

    wss_client app(relayd.port(), "/ws/app", rig.pki.ca_cert, bearer);
    CHECK(!app.expect("auth_ok").is_null());
    wss_client robot(relayd.port(), "/ws/device", rig.pki.ca_cert);
    auto challenge = robot.expect("auth_challenge");
    REQUIRE(!challenge.is_null());
    std::string nonce(challenge.at("nonce").as_string());
    robot.send(json::object{{"type", "auth"}, {"device_id", "tls-bot"},
                            {"signature", relay::auth::device_signature(secret, nonce, "tls-bot")}});
    CHECK(!robot.expect("auth_ok").is_null());
    robot.send(json::object{{"type", "event"}, {"event", "battery"}, {"data", {{"level", 90}}}});
    auto e = app.expect("event"); // robot_connected first, then the battery event
    if (e.at("event") == "robot_connected")
        e = app.expect("event");
    CHECK(e.at("event") == "battery");
}

TEST_CASE("bad TLS configuration refuses to start with a one-line reason")
{
    tls_rig rig;
    auto [missing, out1] = run_relayd({}, test_env({{"RELAY_TLS_CERT", rig.dir.path() + "/nope.pem"},
                                                    {"RELAY_TLS_KEY", rig.key}}));
    CHECK(missing == 1);
    CHECK(out1.find("cannot use RELAY_TLS_CERT") != std::string::npos);
    auto [mismatch, out2] = run_relayd({}, test_env({{"RELAY_TLS_CERT", rig.cert},
                                                     {"RELAY_TLS_KEY", rig.pki.other_host_key}}));
    CHECK(mismatch == 1);
    CHECK(out2.find("RELAY_TLS_KEY") != std::string::npos); // names the setting at fault
}

TEST_CASE("SIGHUP reloads the certificate for new connections without dropping live ones")
{
    tls_rig rig;
    relayd_process relayd(rig.env());
    auto before = peer_certificate_fingerprint(relayd.port());
    auto owner = [&] {
        json::object creds{{"email", "hup@example.com"}, {"password", "correct horse battery"}};
        https_call(relayd.port(), rig.pki.ca_cert, "POST", "/api/auth/register", json::serialize(creds));
        auto login = https_call(relayd.port(), rig.pki.ca_cert, "POST", "/api/auth/login", json::serialize(creds));
        return std::string(login.json().at("access_token").as_string());
    }();
    wss_client live(relayd.port(), "/ws/app", rig.pki.ca_cert, {{"Authorization", "Bearer " + owner}});
    CHECK(!live.expect("auth_ok").is_null());

    // A renewed certificate (here: another one from the same CA) is dropped in place.
    std::filesystem::copy_file(rig.pki.other_host_cert, rig.cert, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(rig.pki.other_host_key, rig.key, std::filesystem::copy_options::overwrite_existing);
    ::kill(relayd.pid(), SIGHUP);
    std::string after;
    for (int i = 0; i < 100 && (after.empty() || after == before); ++i) {
        std::this_thread::sleep_for(50ms);
        after = peer_certificate_fingerprint(relayd.port());
    }
    CHECK(after != before);
    CHECK(relayd.output().find("tls_reloaded") != std::string::npos);
    // The connection made before the reload is still served.
    live.send(json::object{{"type", "ping"}, {"id", "still-here"}});
    CHECK(live.expect("pong").at("id") == "still-here");

    // A broken renewal (key does not match) keeps the working certificate.
    std::filesystem::copy_file(rig.pki.server_key, rig.key, std::filesystem::copy_options::overwrite_existing);
    ::kill(relayd.pid(), SIGHUP);
    for (int i = 0; i < 100 && relayd.output().find("tls_reload_failed") == std::string::npos; ++i)
        std::this_thread::sleep_for(50ms);
    CHECK(relayd.output().find("tls_reload_failed") != std::string::npos);
    CHECK(peer_certificate_fingerprint(relayd.port()) == after);
}
