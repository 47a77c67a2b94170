// Every callback and session message of relay::robot::client, against a scripted relay
// (fake_relay): WebRTC signaling and the REST tunnel, which relayd does not route yet, plus
// errors, flush barriers, and TLS certificate verification.
#include "fake_relay.hpp"
#include "sdk_test_support.hpp"

#include <relay/protocol/base64.hpp>

#include <future>

using namespace relay::test;
namespace json = boost::json;
namespace robot = relay::robot;
namespace protocol = relay::protocol;

namespace {

std::string str(json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

/** Values a callback hands over to the test thread. */
template <class T> class mailbox {
public:
    void put(T value)
    {
        std::lock_guard lock(mutex_);
        items_.push_back(std::move(value));
        cv_.notify_all();
    }
    std::optional<T> take(std::chrono::milliseconds timeout = 20s)
    {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, timeout, [&] { return !items_.empty(); }))
            return std::nullopt;
        auto v = std::move(items_.front());
        items_.erase(items_.begin());
        return v;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<T> items_;
};

robot::client_options fake_options(std::uint16_t port)
{
    device_credentials dev{"wimz-201", "s3cret-s3cret"};
    return robot_options(port, dev);
}

/** A credentials object as the relay sends it: one UDP TURN URL for `username`, lasting `ttl`. */
json::object sample_credentials(std::string const& username, std::int64_t ttl)
{
    json::array urls{"turn:turn.example.com:3478?transport=udp"};
    return {{"urls", urls},
            {"username", username},
            {"credential", "abc="},
            {"ttl", ttl},
            {"expires_at", 1700000000},
            {"ice_servers", json::array{json::object{{"urls", urls}, {"username", username}, {"credential", "abc="}}}}};
}

} // namespace

TEST_CASE("WebRTC signaling both ways through typed callbacks and senders")
{
    fake_relay relay;
    mailbox<protocol::robot_webrtc_request> requests;
    mailbox<protocol::webrtc_answer> answers;
    mailbox<protocol::webrtc_ice> ices;
    mailbox<protocol::webrtc_close_notice> closes;
    robot::client c(fake_options(relay.port()));
    c.on_webrtc_request([&](auto const& m) { requests.put(m); });
    c.on_webrtc_answer([&](auto const& m) { answers.put(m); });
    c.on_webrtc_ice([&](auto const& m) { ices.put(m); });
    c.on_webrtc_close([&](auto const& m) { closes.put(m); });
    c.start();
    auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(relay_side);
    auto hello = relay_side->expect("hello");
    REQUIRE(!hello.is_null());

    auto creds = sample_credentials("1700000000:u-1", 86400);
    relay_side->send(json::object{{"type", "webrtc_request"}, {"session_id", "s-1"}, {"from_user", "u-1"},
                                  {"media", "both"}, {"quality", "high"}, {"turn_credentials", creds}});
    auto req = requests.take();
    REQUIRE(req);
    CHECK(req->session_id == "s-1");
    CHECK(req->from_user == "u-1");
    CHECK(req->media == protocol::media::both);
    CHECK(req->quality == protocol::quality::high);
    CHECK(req->turn_credentials.username == "1700000000:u-1");
    REQUIRE(req->turn_credentials.ice_servers.size() == 1);

    // The robot's offer and candidates go out as the contract's messages.
    CHECK(c.send_webrtc_offer("s-1", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"));
    auto offer = relay_side->expect("webrtc_offer");
    REQUIRE(!offer.is_null());
    CHECK(str(offer, "session_id") == "s-1");
    CHECK(str(offer.at("sdp"), "type") == "offer");
    CHECK(str(offer.at("sdp"), "sdp").rfind("v=0", 0) == 0);

    CHECK(c.send_webrtc_ice("s-1", protocol::ice_candidate{"candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host", "0", 0, std::nullopt}));
    auto ice = relay_side->expect("webrtc_ice");
    REQUIRE(!ice.is_null());
    CHECK(str(ice.at("candidate"), "sdpMid") == "0");
    CHECK(c.send_webrtc_ice("s-1", std::nullopt));
    auto end_of_candidates = relay_side->expect("webrtc_ice");
    REQUIRE(!end_of_candidates.is_null());
    CHECK(end_of_candidates.at("candidate").is_null());

    // The app's answer and candidates come in typed.
    relay_side->send(json::object{{"type", "webrtc_answer"}, {"session_id", "s-1"},
                                  {"sdp", json::object{{"type", "answer"}, {"sdp", "v=0\r\n"}}}});
    auto answer = answers.take();
    REQUIRE(answer);
    CHECK(answer->sdp.type == protocol::sdp_type::answer);
    relay_side->send(json::object{{"type", "webrtc_ice"}, {"session_id", "s-1"},
                                  {"candidate", json::object{{"candidate", "candidate:2 1 udp 1 10.0.0.3 6000 typ host"},
                                                             {"sdpMid", "0"}, {"sdpMLineIndex", 0}}}});
    relay_side->send(json::object{{"type", "webrtc_ice"}, {"session_id", "s-1"}, {"candidate", nullptr}});
    auto first_ice = ices.take();
    auto last_ice = ices.take();
    REQUIRE(first_ice);
    REQUIRE(last_ice);
    CHECK(first_ice->candidate.has_value());
    CHECK(!last_ice->candidate.has_value());

    CHECK(c.send_webrtc_stats({"s-1", protocol::stats_state::connected, protocol::connection_type::relay, 42.5}));
    auto stats = relay_side->expect("webrtc_stats");
    REQUIRE(!stats.is_null());
    CHECK(str(stats, "connection_type") == "relay");

    relay_side->send(json::object{{"type", "webrtc_close"}, {"session_id", "s-1"}, {"reason", "user left"}, {"by", "app"}});
    auto closed = closes.take();
    REQUIRE(closed);
    CHECK(closed->by == protocol::closed_by::app);
    CHECK(closed->reason == "user left");
    CHECK(c.send_webrtc_close("s-2", "camera busy"));
    auto robot_close = relay_side->expect("webrtc_close");
    REQUIRE(!robot_close.is_null());
    CHECK(str(robot_close, "reason") == "camera busy");
}

TEST_CASE("a renewal's webrtc_request reaches on_webrtc_request with replaces; a plain one without")
{
    fake_relay relay;
    mailbox<protocol::robot_webrtc_request> requests;
    robot::client c(fake_options(relay.port()));
    c.on_webrtc_request([&](auto const& m) { requests.put(m); });
    c.start();
    auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(relay_side);
    REQUIRE(!relay_side->expect("hello").is_null());
    auto creds = sample_credentials("1700000000:wimz-201", 60);
    json::object request{{"type", "webrtc_request"}, {"session_id", "s-1"}, {"from_user", "u-1"},
                         {"media", "video"}, {"quality", "auto"}, {"turn_credentials", creds}};
    relay_side->send(request);
    request["session_id"] = "s-2";
    request["replaces"] = "s-1";
    relay_side->send(request);
    auto plain = requests.take();
    auto renewal = requests.take();
    REQUIRE(plain);
    REQUIRE(renewal);
    CHECK_FALSE(plain->replaces);
    CHECK(renewal->session_id == "s-2");
    CHECK(renewal->replaces == "s-1");
    // The robot may time nothing itself, but the helper gives apps the renewal point: 2/3 of ttl.
    CHECK(protocol::renewal_delay(renewal->turn_credentials) == std::chrono::seconds(40));
}

TEST_CASE("REST-tunnel requests reach on_http_request; JSON, bytes, forgotten and unhandled answers")
{
    fake_relay relay;
    mailbox<std::pair<protocol::robot_http_request, robot::http_reply>> requests;
    robot::client c(fake_options(relay.port()));
    c.on_http_request([&](auto const& request, robot::http_reply reply) { requests.put({request, std::move(reply)}); });
    c.start();
    auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(relay_side);

    relay_side->send(json::object{{"type", "http_request"}, {"id", "h1"}, {"method", "GET"}, {"path", "/status"},
                                  {"query", "verbose=1"}, {"headers", json::object{{"Accept", "application/json"}}}});
    auto first = requests.take();
    REQUIRE(first);
    CHECK(first->first.method == "GET");
    CHECK(first->first.path == "/status");
    CHECK(first->first.query == "verbose=1");
    CHECK(first->first.headers.at("Accept") == "application/json");
    CHECK(first->second.respond(200, json::object{{"battery", 80}}));
    auto r1 = relay_side->expect("http_response");
    REQUIRE(!r1.is_null());
    CHECK(str(r1, "id") == "h1");
    CHECK(r1.at("status") == 200);
    CHECK(r1.at("body").at("battery") == 80);
    CHECK(str(r1.at("headers"), "Content-Type") == "application/json");

    relay_side->send(json::object{{"type", "http_request"}, {"id", "h2"}, {"method", "GET"}, {"path", "/photos/1.jpg"}});
    auto second = requests.take();
    REQUIRE(second);
    CHECK(second->second.respond_bytes(200, std::string("\xff\xd8\xff\x00jpeg", 8), "image/jpeg"));
    CHECK_THROWS_AS(second->second.respond(99), std::invalid_argument);
    // What the relay would refuse with 502 for the app: interim statuses and a body with 204 or 304.
    CHECK_THROWS_AS(second->second.respond(101), std::invalid_argument);
    CHECK_THROWS_AS(second->second.respond(100), std::invalid_argument);
    CHECK_THROWS_AS(second->second.respond(204, json::object{{"a", 1}}), std::invalid_argument);
    CHECK_THROWS_AS(second->second.respond_bytes(304, "x", "text/plain"), std::invalid_argument);
    auto r2 = relay_side->expect("http_response");
    REQUIRE(!r2.is_null());
    CHECK(relay::protocol::base64_decode(str(r2, "body_b64")) == std::string("\xff\xd8\xff\x00jpeg", 8));
    CHECK(str(r2.at("headers"), "Content-Type") == "image/jpeg");

    // A request whose reply is dropped unanswered is answered 500 NOT_ANSWERED.
    relay_side->send(json::object{{"type", "http_request"}, {"id", "h3"}, {"method", "POST"}, {"path", "/mode"},
                                  {"body", json::object{{"mode", "idle"}}}});
    {
        auto third = requests.take();
        REQUIRE(third);
        CHECK(third->first.body->at("mode") == "idle");
    }
    auto r3 = relay_side->expect("http_response");
    REQUIRE(!r3.is_null());
    CHECK(str(r3, "id") == "h3");
    CHECK(r3.at("status") == 500);
    CHECK(str(r3.at("body").at("error"), "code") == "NOT_ANSWERED");

    // Without a handler: 501.
    c.on_http_request(nullptr);
    relay_side->send(json::object{{"type", "http_request"}, {"id", "h4"}, {"method", "GET"}, {"path", "/status"}});
    auto r4 = relay_side->expect("http_response");
    REQUIRE(!r4.is_null());
    CHECK(r4.at("status") == 501);
}

TEST_CASE("errors from the relay, undecodable messages and throwing callbacks reach on_error")
{
    fake_relay relay;
    client_events seen;
    robot::client c(fake_options(relay.port()));
    seen.attach(c);
    c.on_command([](protocol::robot_command const&, robot::command_reply) { throw std::runtime_error("motor on fire"); });
    c.start();
    auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(relay_side);
    REQUIRE(seen.wait_connects(1));

    relay_side->send(json::object{{"type", "error"}, {"code", "RATE_LIMITED"}, {"message", "slow down"}, {"ref", "e1"}});
    relay_side->send(json::object{{"type", "teleport"}});
    relay_side->send(json::object{{"type", "command"}, {"id", "c1"}, {"from_user", "u"}, {"command", "go"}, {"data", json::object{}}});
    REQUIRE(seen.wait_errors(3));
    auto errors = seen.errors();
    CHECK(errors[0].code == relay::errc::rate_limited);
    CHECK(errors[0].ref == std::optional<std::string>("e1"));
    CHECK(errors[1].code == relay::errc::unknown_type);
    CHECK(errors[1].message.find("undecodable") != std::string::npos);
    CHECK(errors[2].code == relay::errc::internal);
    CHECK(errors[2].message.find("motor on fire") != std::string::npos);
    // The command whose handler threw is still answered.
    auto result = relay_side->expect("command_result");
    REQUIRE(!result.is_null());
    CHECK(result.at("ok") == false);
    CHECK(str(result.at("error"), "code") == "NOT_ANSWERED");
    CHECK(c.connected()); // none of this ends the connection
}

TEST_CASE("flush returns only after the relay answered a ping sent behind the events")
{
    fake_relay relay;
    auto options = fake_options(relay.port());
    auto&& [seen, c] = started_client(options);
    auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(relay_side);
    REQUIRE(seen.wait_connects(1));
    REQUIRE(!relay_side->expect("hello").is_null());

    c.send_event("one");
    c.send_event("two");
    auto flushed = std::async(std::launch::async, [&] { return c.flush(30s); });
    auto e1 = relay_side->read();
    auto e2 = relay_side->read();
    auto barrier = relay_side->read();
    REQUIRE(e1);
    REQUIRE(e2);
    REQUIRE(barrier);
    CHECK(str(*e1, "event") == "one");
    CHECK(str(*e2, "event") == "two");
    CHECK(str(*barrier, "type") == "ping");
    // Not done before the relay answers.
    CHECK(flushed.wait_for(200ms) == std::future_status::timeout);
    relay_side->send(json::object{{"type", "pong"}, {"ts", "2026-11-21T20:15:03.123Z"}});
    CHECK(flushed.get());
}

TEST_CASE("keepalive pings go out on schedule and a relay that closes is reported with its code")
{
    fake_relay relay;
    auto options = fake_options(relay.port());
    options.ping_interval = 200ms;
    options.keepalive_timeout = 20s;
    auto&& [seen, c] = started_client(options);
    auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(relay_side);
    REQUIRE(!relay_side->expect("ping").is_null());
    relay_side->send(json::object{{"type", "pong"}, {"ts", "2026-11-21T20:15:03.123Z"}});
    REQUIRE(!relay_side->expect("ping").is_null());

    relay_side->close(1012);
    auto closed = seen.wait_reason(robot::disconnect_reason::relay_closed);
    REQUIRE(closed);
    CHECK(closed->close_code == 1012);
    CHECK(closed->was_connected);
    // It comes back.
    auto again = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(again);
    REQUIRE(seen.wait_connects(2));
}

TEST_CASE("wss: the relay's certificate is verified against the system store plus ca_file, and must name the host")
{
    auto cert = make_self_signed_certificate("localhost");
    fake_relay relay(cert.get());

    SUBCASE("trusted through ca_file and named right: connects")
    {
        auto options = fake_options(relay.port());
        options.url = "wss://localhost:" + std::to_string(relay.port());
        options.ca_file = cert->cert_path;
        auto&& [seen, c] = started_client(options);
        auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
        REQUIRE(relay_side);
        REQUIRE(seen.wait_connects(1));
        c.send_event("over_tls");
        auto e = relay_side->expect("event");
        REQUIRE(!e.is_null());
        CHECK(str(e, "event") == "over_tls");
    }
    SUBCASE("not trusted: refused, said why")
    {
        auto options = fake_options(relay.port());
        options.url = "wss://localhost:" + std::to_string(relay.port());
        auto&& [seen, c] = started_client(options);
        CHECK(!relay.accept_robot("wimz-201", "s3cret-s3cret"));
        auto failure = seen.wait_reason(robot::disconnect_reason::connect_failed);
        REQUIRE(failure);
        CHECK(failure->message.find("TLS") != std::string::npos);
        CHECK(failure->message.find("certificate") != std::string::npos);
        CHECK(seen.connects().empty());
    }
    SUBCASE("trusted but for another name: refused")
    {
        auto options = fake_options(relay.port());
        options.url = "wss://127.0.0.1:" + std::to_string(relay.port());
        options.ca_file = cert->cert_path;
        auto&& [seen, c] = started_client(options);
        CHECK(!relay.accept_robot("wimz-201", "s3cret-s3cret"));
        auto failure = seen.wait_reason(robot::disconnect_reason::connect_failed);
        REQUIRE(failure);
        CHECK(failure->message.find("TLS") != std::string::npos);
        CHECK(seen.connects().empty());
    }
    SUBCASE("a ca_file that cannot be read is a configuration error")
    {
        auto options = fake_options(relay.port());
        options.url = "wss://localhost:" + std::to_string(relay.port());
        options.ca_file = "/nonexistent/ca.pem";
        CHECK_THROWS_AS(robot::client{options}, std::invalid_argument);
    }
}

TEST_CASE("configuration errors are refused at construction")
{
    robot::client_options o;
    o.url = "ftp://relay.example.com";
    o.device_id = "wimz-1";
    o.device_secret = "x";
    CHECK_THROWS_AS(robot::client{o}, std::invalid_argument);
    o.url = "wss://relay.example.com";
    o.device_id = "bad id";
    CHECK_THROWS_AS(robot::client{o}, std::invalid_argument);
    o.device_id = "wimz-1";
    o.device_secret = "";
    CHECK_THROWS_AS(robot::client{o}, std::invalid_argument);
    o.device_secret = "x";
    o.keepalive_timeout = o.ping_interval;
    CHECK_THROWS_AS(robot::client{o}, std::invalid_argument);
    o.keepalive_timeout = std::chrono::seconds(60);
    o.outbox_capacity = 0;
    CHECK_THROWS_AS(robot::client{o}, std::invalid_argument);
    o.outbox_capacity = 1;
    o.url = "ws://127.0.0.1:1";
    robot::command_reply no_command;
    robot::http_reply no_request;
    CHECK(!no_command.ok());
    CHECK(!no_command.answered());
    CHECK(!no_request.respond(200));
    robot::client fine(o);
    fine.start();
    CHECK_THROWS_AS(fine.start(), std::logic_error);
}

TEST_CASE("acknowledged events: ids, acks in any order, flush waits for them, unacknowledged ones go again")
{
    fake_relay relay;
    auto options = fake_options(relay.port());
    options.acknowledged_events = true;
    auto&& [seen, c] = started_client(options);
    mailbox<protocol::event_ack> acks;
    c.on_event_ack([&](protocol::event_ack const& a) { acks.put(a); });
    auto relay_side = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(relay_side);
    REQUIRE(seen.wait_connects(1));
    REQUIRE(!relay_side->expect("hello").is_null());

    REQUIRE(!c.send_event("one"));
    REQUIRE(!c.send_event("two"));
    auto e1 = relay_side->read();
    auto e2 = relay_side->read();
    REQUIRE(e1);
    REQUIRE(e2);
    auto id1 = str(*e1, "id");
    auto id2 = str(*e2, "id");
    REQUIRE(id1.size() == 18);
    CHECK(id1.substr(0, 17) == id2.substr(0, 17)); // one random prefix per client
    CHECK(id1.substr(16) == "-1");
    CHECK(id2.substr(16) == "-2");
    CHECK(c.stats().events_unacknowledged == 2);

    // flush waits for the acks, then for a ping behind them.
    auto flushed = std::async(std::launch::async, [&] { return c.flush(30s); });
    relay_side->send(json::object{{"type", "ack"}, {"ref", id2}, {"seq", 11}});
    relay_side->send(json::object{{"type", "ack"}, {"ref", "not-ours"}, {"seq", 12}});
    relay_side->send(json::object{{"type", "ack"}, {"ref", id1}, {"seq", 10}});
    relay_side->send(json::object{{"type", "ack"}, {"ref", id1}, {"seq", 10}}); // again: not reported twice
    auto a = acks.take();
    auto b = acks.take();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->ref == id2);
    CHECK(a->seq == 11);
    CHECK(b->ref == id1);
    auto ping = relay_side->read();
    REQUIRE(ping);
    CHECK(str(*ping, "type") == "ping");
    relay_side->send(json::object{{"type", "pong"}, {"ts", "2026-11-21T20:15:03.123Z"}});
    CHECK(flushed.get());
    CHECK(c.stats().events_acknowledged == 2);
    CHECK(c.stats().events_unacknowledged == 0);

    // An event written without an ack before the connection ends is written again, same id.
    REQUIRE(!c.send_event("three"));
    auto e3 = relay_side->read();
    REQUIRE(e3);
    relay_side->close(1012);
    auto again = relay.accept_robot("wimz-201", "s3cret-s3cret");
    REQUIRE(again);
    REQUIRE(!again->expect("hello").is_null());
    auto resent = again->read();
    REQUIRE(resent);
    CHECK(str(*resent, "type") == "event");
    CHECK(str(*resent, "id") == str(*e3, "id"));
    CHECK(c.stats().events_resent == 1);
    again->send(json::object{{"type", "ack"}, {"ref", str(*e3, "id")}, {"seq", 13}});
    auto c3 = acks.take();
    REQUIRE(c3);
    CHECK(c3->seq == 13);
    CHECK(acks.take(0ms) == std::nullopt); // the duplicate ack of id1 above was not reported
    CHECK(c.stats().events_acknowledged == 3);
}
