// relay_url parsing (every form an operator may paste) and the reconnect schedule's bounds.
#include <relay/robot/backoff.hpp>
#include <relay/robot/relay_url.hpp>

#include <doctest/doctest.h>

#include <set>

using relay::robot::parse_relay_url;
using namespace std::chrono_literals;

TEST_CASE("relay URLs: schemes, ports, base paths")
{
    auto a = parse_relay_url("wss://relay.example.com");
    REQUIRE(a.has_value());
    CHECK(a->tls);
    CHECK(a->host == "relay.example.com");
    CHECK(a->port == 443);
    CHECK(a->path == "/ws/device");

    auto b = parse_relay_url("http://127.0.0.1:8000/");
    REQUIRE(b.has_value());
    CHECK(!b->tls);
    CHECK(b->port == 8000);
    CHECK(b->path == "/ws/device");

    auto c = parse_relay_url("HTTPS://relay.example.com/robots");
    REQUIRE(c.has_value());
    CHECK(c->tls);
    CHECK(c->path == "/robots/ws/device");

    auto d = parse_relay_url("ws://localhost:9000/ws/device");
    REQUIRE(d.has_value());
    CHECK(d->path == "/ws/device");
    CHECK(d->port == 9000);

    auto e = parse_relay_url("ws://[::1]:8000");
    REQUIRE(e.has_value());
    CHECK(e->host == "::1");
    CHECK(e->port == 8000);
    CHECK(relay::robot::to_string(*e) == "ws://[::1]:8000/ws/device");

    auto app = parse_relay_url("https://relay.example.com", "/ws/app");
    REQUIRE(app.has_value());
    CHECK(app->path == "/ws/app");
    CHECK(relay::robot::to_string(*app) == "wss://relay.example.com:443/ws/app");

    for (auto bad : {"", "relay.example.com", "ftp://relay.example.com", "ws://", "ws://:80", "ws://host:0",
                     "ws://host:65536", "ws://host:99999", "ws://host:80x", "ws://host:", "ws://user:pw@host", "ws://host/?x=1",
                     "ws://host/#frag", "ws://[::1", "ws://ho st", "ws://[zz]:1"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_relay_url(bad).has_value());
    }
}

TEST_CASE("backoff: 0.5 s doubling to 30 s with jitter in [d/2, d], reset starts over")
{
    relay::robot::backoff b({500ms, 30000ms}, 42);
    std::chrono::milliseconds nominal = 500ms;
    for (int i = 0; i < 12; ++i) {
        auto d = b.next();
        CAPTURE(i);
        CHECK(d >= nominal / 2);
        CHECK(d <= nominal);
        nominal = std::min(nominal * 2, std::chrono::milliseconds(30000));
    }
    CHECK(b.failures() == 12);
    b.reset();
    CHECK(b.failures() == 0);
    auto first = b.next();
    CHECK(first >= 250ms);
    CHECK(first <= 500ms);

    // The jitter really varies (a fleet does not reconnect in lockstep).
    relay::robot::backoff x({1000ms, 1000ms}, 1);
    std::set<long long> seen;
    for (int i = 0; i < 20; ++i)
        seen.insert(x.next().count());
    CHECK(seen.size() > 5);

    // A nonsensical policy is made safe rather than a busy loop.
    relay::robot::backoff zero({0ms, 0ms}, 1);
    CHECK(zero.next() >= 0ms);
    CHECK(zero.policy().initial >= 1ms);
}
