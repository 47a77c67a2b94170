// The relay proves its own TURN: relayd allocates on every TURN URL it hands out with fresh
// credentials, against a real coturn (UDP, TCP and TLS), and /health, /metrics and
// `relayd turn-check` say what it found: the right secret, a wrong one (401 Unauthorized), a
// closed port, the Cloudflare provider (the stand-in handing out the local coturn), the probe
// turned off.
#include "cloudflare_stand_in.hpp"
#include "processes.hpp"

#include "cluster/eventually.hpp"
#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <relay/turn/coturn.hpp>
#include <relay/turn/stun.hpp>
#include <relay/turn/turn_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>

using namespace relay::test;
using namespace turn_test;

namespace {

std::string port_text(std::uint16_t p)
{
    return std::to_string(p);
}

/** coturn's three listeners as RELAY_TURN_URLS would list them. */
struct coturn_urls {
    std::string udp, tcp, tls;
    std::string joined() const { return udp + "," + tcp + "," + tls; }
};

coturn_urls urls_of(turnserver_process const& coturn)
{
    auto base = "turn:127.0.0.1:" + port_text(coturn.port());
    // The TLS URL names the host the certificate was made for: SNI and name verification.
    return {base + "?transport=udp", base + "?transport=tcp", "turns:localhost:" + port_text(coturn.tls_port()) + "?transport=tcp"};
}

env_map coturn_env(std::string const& secret, std::string const& urls, std::string const& ca_file,
                   std::string const& interval = "300")
{
    auto env = test_env({{"RELAY_TURN_PROVIDER", "coturn"},
                         {"RELAY_TURN_SECRET", secret},
                         {"RELAY_TURN_URLS", urls},
                         {"RELAY_TURN_PROBE_INTERVAL", interval}});
    // turns: is verified against the test CA the way an operator adds a private CA.
    if (!ca_file.empty())
        env["SSL_CERT_FILE"] = ca_file;
    return env;
}

std::string metrics_of(std::uint16_t port)
{
    return http_get(port, "/metrics").body;
}

std::string probe_series(std::string const& outcome, std::string const& url)
{
    return "relay_turn_probe_total{outcome=\"" + outcome + "\",url=\"" + url + "\"}";
}

bool contains(std::string const& text, std::string const& part)
{
    return text.find(part) != std::string::npos;
}

/** /health's checks.turn once it is 503; "" while it is not. */
std::string degraded_turn(std::uint16_t port)
{
    auto h = http_get(port, "/health");
    if (h.status != 503)
        return {};
    auto json = h.json();
    auto const& body = json.as_object();
    if (!body.contains("checks") || !body.at("checks").as_object().contains("turn"))
        return {};
    return std::string(body.at("checks").at("turn").as_string());
}

} // namespace

TEST_CASE("turn probe: the right secret allocates on UDP, TCP and TLS; /health ok; turn-check exits 0")
{
    temp_dir dir;
    test_pki pki(dir.path());
    turnserver_process coturn({"shared-turn-secret"}, turnserver_tls{pki.server_cert, pki.server_key});
    auto urls = urls_of(coturn);
    relayd_process relayd(coturn_env("shared-turn-secret", urls.joined(), pki.ca_cert));

    // The first probe runs at start: each URL gets an "ok" sample.
    bool all_ok = eventually([&] {
        auto m = metrics_of(relayd.port());
        return contains(m, probe_series("ok", urls.udp)) && contains(m, probe_series("ok", urls.tcp)) &&
               contains(m, probe_series("ok", urls.tls));
    }, std::chrono::seconds(30));
    CAPTURE(metrics_of(relayd.port()));
    CAPTURE(relayd.output());
    CAPTURE(coturn.log());
    CHECK(all_ok);
    CHECK(contains(metrics_of(relayd.port()), "relay_turn_probe_last_success_timestamp_seconds{url=\"" + urls.tls + "\"}"));
    auto health = http_get(relayd.port(), "/health");
    CHECK(health.status == 200);

    auto [status, output] = run_relayd({"turn-check"}, coturn_env("shared-turn-secret", urls.joined(), pki.ca_cert));
    CAPTURE(output);
    CHECK(status == 0);
    CHECK(contains(output, "ok      " + urls.udp + ": allocated 127.0.0.1:"));
    CHECK(contains(output, "ok      " + urls.tls + ": allocated 127.0.0.1:"));
    CHECK(contains(output, "released"));
}

TEST_CASE("turn probe: the library client over TCP and TLS, and a CA it does not trust")
{
    temp_dir dir;
    test_pki pki(dir.path());
    turnserver_process coturn({"shared-turn-secret"}, turnserver_tls{pki.server_cert, pki.server_key});
    auto urls = urls_of(coturn);
    auto username = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch()).count() + 600) + ":lib";
    auto credential = relay::turn::rest_api_credential("shared-turn-secret", username);
    relay::turn::client_options options;
    options.ca_file = pki.ca_cert;
    for (auto const& url : {urls.tcp, urls.tls}) {
        CAPTURE(url);
        auto got = relay::turn::allocate_and_release(url, username, credential, options);
        CAPTURE(got.answer);
        CHECK(got.ok());
        CHECK(got.released);
        CHECK(got.relayed_address.starts_with("127.0.0.1:"));
    }
    // A CA the client does not trust: named as such, not as a TURN refusal.
    relay::turn::client_options untrusting;
    untrusting.ca_file = pki.unknown_ca_cert;
    auto untrusted = relay::turn::allocate_and_release(urls.tls, username, credential, untrusting);
    CHECK(untrusted.kind == relay::turn::outcome_kind::unreachable);
    CHECK(contains(untrusted.answer, "not trusted"));
}

TEST_CASE("turn probe: a wrong coturn secret makes /health 503 with 401 Unauthorized; turn-check exits 1")
{
    temp_dir dir;
    test_pki pki(dir.path());
    turnserver_process coturn({"shared-turn-secret"}, turnserver_tls{pki.server_cert, pki.server_key});
    auto urls = urls_of(coturn);
    auto env = coturn_env("not-the-turn-secret", urls.joined(), pki.ca_cert);
    relayd_process relayd(env);

    std::string turn;
    bool degraded = eventually([&] { return contains(turn = degraded_turn(relayd.port()), urls.tls); },
                               std::chrono::seconds(30));
    CAPTURE(turn);
    CAPTURE(relayd.output());
    REQUIRE(degraded);
    for (auto const& url : {urls.udp, urls.tcp, urls.tls})
        CHECK(contains(turn, url + ": 401 Unauthorized"));
    auto m = metrics_of(relayd.port());
    CHECK(contains(m, probe_series("refused", urls.udp)));
    CHECK_FALSE(contains(m, probe_series("ok", urls.udp)));
    CHECK(contains(relayd.output(), "turn_probe_failed"));

    auto [status, output] = run_relayd({"turn-check"}, env);
    CAPTURE(output);
    CHECK(status == 1);
    CHECK(contains(output, "FAILED  " + urls.udp + ": 401 Unauthorized"));
}

TEST_CASE("turn probe: a closed port is named with what happened")
{
    auto closed = closed_port();
    auto udp = "turn:127.0.0.1:" + port_text(closed) + "?transport=udp";
    auto tcp = "turn:127.0.0.1:" + port_text(closed) + "?transport=tcp";
    auto env = test_env({{"RELAY_TURN_PROVIDER", "coturn"},
                         {"RELAY_TURN_SECRET", "shared-turn-secret"},
                         {"RELAY_TURN_URLS", udp + "," + tcp},
                         {"RELAY_TURN_PROBE_INTERVAL", "300"}});
    relayd_process relayd(env);
    std::string turn;
    bool degraded = eventually([&] { return contains(turn = degraded_turn(relayd.port()), tcp); },
                               std::chrono::seconds(30));
    CAPTURE(turn);
    REQUIRE(degraded);
    // Nothing listens: the kernel refuses the TCP connection and answers the UDP datagram with
    // ICMP port unreachable.
    CHECK(contains(turn, tcp + ": connection refused"));
    CHECK(contains(turn, udp + ": connection refused"));
    CHECK(contains(metrics_of(relayd.port()), probe_series("unreachable", tcp)));

    auto [status, output] = run_relayd({"turn-check"}, env);
    CAPTURE(output);
    CHECK(status == 1);
    CHECK(contains(output, "FAILED  " + tcp + ": connection refused"));
}

TEST_CASE("turn probe: the Cloudflare provider's URLs are probed with the credentials it issued")
{
    temp_dir dir;
    test_pki pki(dir.path());
    turnserver_process coturn({"shared-turn-secret"});
    // The stand-in hands out the local coturn's URLs with a credential coturn accepts, as
    // Cloudflare hands out its own servers' with credentials they accept.
    auto username = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch()).count() + 3600) + ":cf";
    auto credential = relay::turn::rest_api_credential("shared-turn-secret", username);
    auto base = "turn:127.0.0.1:" + port_text(coturn.port());
    auto body = R"({"iceServers":[{"urls":[")" + base + R"(?transport=tcp",")" + base +
                R"(?transport=udp"],"username":")" + username + R"(","credential":")" + credential + R"("}]})";
    cloudflare_stand_in api(pki.server_cert, pki.server_key);
    api.set_default({201, body});
    auto env = test_env({{"RELAY_TURN_PROVIDER", "cloudflare"},
                         {"RELAY_CF_TURN_KEY_ID", "key-id"},
                         {"RELAY_CF_TURN_API_TOKEN", "api-token"},
                         {"RELAY_CF_API_BASE", api.base_url()},
                         {"RELAY_TURN_PROBE_INTERVAL", "300"},
                         {"SSL_CERT_FILE", pki.ca_cert}});
    relayd_process relayd(env);
    bool all_ok = eventually([&] {
        auto m = metrics_of(relayd.port());
        return contains(m, probe_series("ok", base + "?transport=udp")) &&
               contains(m, probe_series("ok", base + "?transport=tcp"));
    }, std::chrono::seconds(30));
    CAPTURE(metrics_of(relayd.port()));
    CAPTURE(relayd.output());
    CHECK(all_ok);
    CHECK(http_get(relayd.port(), "/health").status == 200);

    auto [status, output] = run_relayd({"turn-check"}, env);
    CAPTURE(output);
    CHECK(status == 0);
}

TEST_CASE("turn probe: RELAY_TURN_PROBE_INTERVAL=0 turns it off")
{
    // A UDP socket of the test's own stands in for the TURN server: whatever relayd sends it is
    // in its receive buffer as soon as sendto returns (loopback).
    namespace net = boost::asio;
    net::io_context io;
    net::ip::udp::socket turn(io, net::ip::udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    turn.non_blocking(true);
    auto url = "turn:127.0.0.1:" + port_text(turn.local_endpoint().port()) + "?transport=udp";
    std::string buffer(2048, '\0');
    auto received = [&] {
        boost::system::error_code ec;
        auto n = turn.receive(net::buffer(buffer), 0, ec);
        return ec ? std::string() : buffer.substr(0, n);
    };

    SUBCASE("with an interval, the probe's Allocate arrives (the control)")
    {
        relayd_process relayd(coturn_env("shared-turn-secret", url, "", "300"));
        std::string got;
        CHECK(eventually([&] { return !(got = received()).empty(); }, std::chrono::seconds(10)));
        auto m = relay::turn::stun::message::parse(got);
        REQUIRE(m.has_value());
        CHECK(m->type() == relay::turn::stun::type::allocate_request);
    }
    SUBCASE("with 0, nothing is sent")
    {
        relayd_process relayd(coturn_env("shared-turn-secret", url, "", "0"));
        CHECK(http_get(relayd.port(), "/health").status == 200);
        CHECK_FALSE(contains(metrics_of(relayd.port()), "relay_turn_probe_total"));
        // Once relayd has exited nothing more can be sent: what it sent is already here.
        CHECK(relayd.stop() == 0);
        CHECK(received().empty());
        CHECK_FALSE(contains(relayd.output(), "turn_probe"));
    }
}

TEST_CASE("turn probe: over UDP the client retransmits the same request, then reports no answer")
{
    namespace net = boost::asio;
    net::io_context io;
    net::ip::udp::socket silent(io, net::ip::udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    relay::turn::client_options options;
    options.timeout = std::chrono::milliseconds(1200);
    options.initial_rto = std::chrono::milliseconds(100);
    auto got = relay::turn::allocate_and_release("turn:127.0.0.1:" + port_text(silent.local_endpoint().port()), "u",
                                                 "p", options);
    CHECK(got.kind == relay::turn::outcome_kind::timeout);
    CHECK(got.answer == "no answer within 1200 ms");
    // The client has returned: every datagram it sent is in the socket's buffer.
    silent.non_blocking(true);
    std::vector<std::string> requests;
    for (;;) {
        std::string buffer(2048, '\0');
        boost::system::error_code ec;
        auto n = silent.receive(net::buffer(buffer), 0, ec);
        if (ec)
            break;
        requests.push_back(buffer.substr(0, n));
    }
    REQUIRE(requests.size() >= 2);
    auto first = relay::turn::stun::message::parse(requests.front());
    REQUIRE(first.has_value());
    CHECK(first->type() == relay::turn::stun::type::allocate_request);
    CHECK(first->fingerprint_valid());
    for (auto const& r : requests)
        CHECK(r == requests.front()); // a retransmission, not a new transaction
}
