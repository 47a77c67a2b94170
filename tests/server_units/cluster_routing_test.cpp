// Cross-node routing (cluster_routing) on two nodes joined by an in-memory fake of the cluster's
// node-message transport: what each node sends, what the app hears, and what a node going away
// or Redis being away settles. The end-to-end cases on real Redis and relayd are in
// tests/cluster/xroute_test.cpp.
#include "server/cluster_routing.hpp"
#include "server/live_service.hpp"
#include "server/runtime.hpp"
#include "server/webrtc.hpp"

#include <relay/protocol/codec.hpp>
#include <relay/protocol/forwarding.hpp>
#include <relay/routing/in_process_broker.hpp>
#include <relay/turn/none.hpp>

#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <deque>
#include <map>

using namespace relay;
using namespace relay::server;

namespace {

class fake_cluster;

/** The nodes, who holds which robot, and the messages in flight (delivered by pump()). */
struct fake_network {
    std::map<std::string, fake_cluster*> nodes;
    std::map<std::string, std::string> owners; // device → node
    bool redis_up = true;
    std::deque<std::function<void()>> in_flight;

    void pump()
    {
        while (!in_flight.empty()) {
            auto next = std::move(in_flight.front());
            in_flight.pop_front();
            next();
        }
    }
    void kill(std::string const& node);
};

class fake_cluster final : public routing::cluster {
public:
    fake_cluster(fake_network& net, std::string id) : net_(net), id_(std::move(id)) { net_.nodes[id_] = this; }

    std::string const& node_id() const noexcept override { return id_; }
    void start(routing::hub&) override {}
    void stop() override {}
    std::string health() const override { return {}; }
    void on_node_message(std::string kind, node_message_handler handler) override { handlers_[kind] = std::move(handler); }
    void send_to_node(std::string const& node, std::string_view kind, std::string payload) override
    {
        net_.in_flight.push_back([net = &net_, from = id_, node, kind = std::string(kind), payload = std::move(payload)] {
            auto it = net->nodes.find(node);
            if (it != net->nodes.end())
                it->second->handlers_.at(kind)(from, payload);
        });
    }
    void send_to_robot_node(std::string const& device_id, std::string_view kind, std::string payload,
                            routed_handler done) override
    {
        if (!net_.redis_up)
            return done(make_error_code(errc::node_unreachable), {});
        auto owner = net_.owners.find(device_id);
        if (owner == net_.owners.end())
            return done(make_error_code(errc::device_offline), {});
        send_to_node(owner->second, kind, std::move(payload));
        done({}, owner->second);
    }
    void on_node_down(std::function<void(std::string const&)> handler) override { down_.push_back(std::move(handler)); }
    // Presence and access changes are not what these tests are about.
    void broadcast(std::string_view, std::string) override {}
    void on_broadcast(std::string, node_message_handler) override {}
    void claim_robot(std::string const&, std::shared_ptr<routing::robot_link> const&, std::function<void(bool)>) override {}
    void release_robot(std::string const&, routing::robot_link const*, bool, std::function<void(bool)>) override {}
    void online(std::vector<std::string>, online_handler) override {}
    status current_status() const override { return {}; }

    std::vector<std::function<void(std::string const&)>> down_;

private:
    fake_network& net_;
    std::string id_;
    std::map<std::string, node_message_handler> handlers_;
};

void fake_network::kill(std::string const& node)
{
    nodes.erase(node);
    std::erase_if(owners, [&](auto const& kv) { return kv.second == node; });
    for (auto const& [id, n] : nodes)
        for (auto const& h : n->down_)
            h(node);
}

/** Frames a connection received, in order. */
struct recorder {
    std::vector<std::string> frames;
    std::vector<std::string> types() const
    {
        std::vector<std::string> out;
        for (auto const& f : frames)
            out.push_back(std::string(boost::json::parse(f).as_object().at("type").as_string()));
        return out;
    }
    boost::json::object last() const { return boost::json::parse(frames.back()).as_object(); }
};

struct fake_app final : routing::app_link, recorder {
    void deliver(std::string const&, routing::channel_message const&) override {}
    void send(std::shared_ptr<std::string const> frame) override { frames.push_back(*frame); }
    void access_changed(std::string const&, std::optional<protocol::role>) override {}
    void login_ended(std::string const&) override {}
    void close(protocol::close_code) override {}
};

struct fake_robot final : routing::robot_link, recorder {
    void send(std::shared_ptr<std::string const> frame) override { frames.push_back(*frame); }
    void close(protocol::close_code) override {}
};

struct fake_waiter final : routing::tunnel_waiter {
    std::optional<protocol::robot_http_response> response;
    std::optional<errc> failure;
    void complete(protocol::robot_http_response r) override { response = std::move(r); }
    void fail(errc code, std::string) override { failure = code; }
};

server_options test_options()
{
    server_options o;
    o.database = ":memory:";
    o.webrtc_max_per_device = 1;
    return o;
}

/** One relay node: its runtime, live service and cross-node routing on the fake transport. */
struct node {
    node(fake_network& net, std::string id)
        : cluster(std::make_shared<fake_cluster>(net, std::move(id))),
          rt(test_options(), log, metrics, store::open_store(":memory:").value(),
             std::make_shared<turn::none_provider>(std::vector<std::string>{}), {}),
          live(rt.options, std::make_shared<routing::in_process_broker>(routing::replay_limits{}), cluster)
    {
        live.cross_node = std::make_shared<cluster_routing>(rt, live, *cluster);
        live.cross_node->attach();
    }
    std::shared_ptr<fake_cluster> cluster;
    telemetry::logger log{telemetry::log_level::error};
    telemetry::registry metrics;
    runtime rt;
    live_service live;
    cluster_routing& routing() { return *live.cross_node; }
};

/** Node a (the app's) and node b (the robot's), robot "d1" online on b. */
struct two_nodes {
    fake_network net;
    node a{net, "a"};
    node b{net, "b"};
    std::shared_ptr<fake_app> app = std::make_shared<fake_app>();
    std::shared_ptr<fake_robot> robot = std::make_shared<fake_robot>();
    std::uint64_t conn = a.routing().connection_id(app);

    two_nodes()
    {
        b.live.hub.attach_robot("d1", robot);
        net.owners["d1"] = "b";
    }
    std::string command(std::string const& id)
    {
        return protocol::encode(protocol::robot_command{id, "u1", "dock", {}});
    }
};

} // namespace

TEST_CASE("cluster routing: a command crosses to the robot's node; the ack, then the result come back")
{
    two_nodes t;
    int accepted = 0;
    t.a.routing().send_command(t.conn, "d1", "c1", t.command("c1"), [&accepted] { ++accepted; });
    CHECK(accepted == 0);
    t.net.pump();
    CHECK(accepted == 1); // the on_command hook's moment: queued on the robot's node
    REQUIRE(t.robot->types() == std::vector<std::string>{"command"});
    CHECK(t.robot->last().at("id") == "c1");
    REQUIRE(t.app->types() == std::vector<std::string>{"ack"});
    CHECK(t.app->last().at("ref") == "c1");

    // The robot answers on b as on one node: through the origin the hub has.
    auto origin = t.b.live.hub.take_command("d1", "c1");
    REQUIRE(origin);
    origin->send(std::make_shared<std::string const>(
        protocol::encode(protocol::forward_to_app(protocol::robot_command_result{"c1", true, {}, {}}, "d1"))));
    t.net.pump();
    REQUIRE(t.app->types() == std::vector<std::string>{"ack", "command_result"});
    CHECK(t.app->last().at("id") == "c1");

    // One the robot never answers is forgotten by both nodes after the hub's command_ttl, as
    // on one node: its id is free again.
    t.a.routing().send_command(t.conn, "d1", "c9", t.command("c9"));
    t.net.pump();
    REQUIRE(t.app->frames.size() == 3);
    auto later = std::chrono::steady_clock::now() + routing::hub::command_ttl + std::chrono::seconds(1);
    t.a.routing().sweep(later);
    t.b.routing().sweep(later);
    t.b.live.hub.take_command("d1", "c9"); // the hub's own ttl runs on the wall clock
    t.a.routing().send_command(t.conn, "d1", "c9", t.command("c9"));
    t.net.pump();
    CHECK(t.app->types() == std::vector<std::string>{"ack", "command_result", "ack", "ack"});

    // Settled or forgotten: b's node going away tells the app only of the pending c9.
    t.net.kill("b");
    CHECK(t.app->frames.size() == 5);
    CHECK(t.app->last().at("ref") == "c9");
}

TEST_CASE("cluster routing: a command for a robot no node holds, one that left, or with Redis away")
{
    two_nodes t;
    int accepted = 0;
    t.a.routing().send_command(t.conn, "d2", "c1", t.command("c1"), [&accepted] { ++accepted; });
    t.net.pump();
    CHECK(accepted == 0);
    REQUIRE(t.app->types() == std::vector<std::string>{"error"});
    CHECK(t.app->last().at("code") == "DEVICE_OFFLINE");
    CHECK(t.app->last().at("ref") == "c1");

    // The owner record still names b, but the robot left b meanwhile.
    t.b.live.hub.detach_robot("d1", t.robot.get());
    t.a.routing().send_command(t.conn, "d1", "c2", t.command("c2"));
    t.net.pump();
    CHECK(t.app->last().at("code") == "DEVICE_OFFLINE");
    CHECK(t.app->last().at("ref") == "c2");

    t.net.redis_up = false;
    t.a.routing().send_command(t.conn, "d1", "c3", t.command("c3"));
    t.net.pump();
    CHECK(t.app->last().at("code") == "NODE_UNREACHABLE");
    CHECK(t.app->last().at("ref") == "c3");
    CHECK(t.app->frames.size() == 3);
    CHECK(t.robot->frames.empty());
}

TEST_CASE("cluster routing: a pending command id is refused, from the same connection or another node's")
{
    two_nodes t;
    t.a.routing().send_command(t.conn, "d1", "c1", t.command("c1"));
    t.a.routing().send_command(t.conn, "d1", "c1", t.command("c1"));
    t.net.pump();
    CHECK(t.app->types() == std::vector<std::string>{"error", "ack"});
    CHECK(t.app->frames.front().find("BAD_MESSAGE") != std::string::npos);

    // An app on the robot's own node with the same id: the robot's hub refuses it as on one node.
    auto local = std::make_shared<fake_app>();
    CHECK_FALSE(t.b.live.hub.register_command("d1", "c1", local));
    // And a third node's app too.
    node c{t.net, "c"};
    auto other = std::make_shared<fake_app>();
    c.routing().send_command(c.routing().connection_id(other), "d1", "c1", t.command("c1"));
    t.net.pump();
    REQUIRE(other->types() == std::vector<std::string>{"error"});
    CHECK(other->last().at("code") == "BAD_MESSAGE");
    CHECK(t.robot->frames.size() == 1);
}

TEST_CASE("cluster routing: the robot leaving answers DEVICE_OFFLINE across; its node stopping settles every wait")
{
    two_nodes t;
    t.a.routing().send_command(t.conn, "d1", "c1", t.command("c1"));
    t.net.pump();
    // As device_session does when its robot leaves.
    for (auto const& [id, origin] : t.b.live.hub.take_all_commands("d1"))
        origin->send(std::make_shared<std::string const>(
            protocol::encode_error(errc::device_offline, "the robot disconnected before answering", id)));
    t.net.pump();
    CHECK(t.app->last().at("code") == "DEVICE_OFFLINE");

    // A command and a tunnelled request wait; then b is declared down.
    t.a.routing().send_command(t.conn, "d1", "c2", t.command("c2"));
    auto waiter = std::make_shared<fake_waiter>();
    REQUIRE(t.a.live.hub.register_tunnel("d1", "t1", "u1", waiter, 8, 8));
    t.a.routing().send_tunnel("d1", "t1", "u1", "{\"type\":\"http_request\"}");
    t.net.pump();
    CHECK(t.app->last().at("type") == "ack");
    CHECK_FALSE(waiter->failure);
    t.net.kill("b");
    CHECK(t.app->last().at("code") == "DEVICE_OFFLINE");
    CHECK(t.app->last().at("ref") == "c2");
    CHECK(t.app->last().at("message") == "the robot's relay node stopped");
    CHECK(waiter->failure == errc::device_offline);
    // The app's connection going away forgets its waits, so nothing is left to settle.
    t.a.routing().forget_connection(t.conn);
}

TEST_CASE("cluster routing: a tunnelled request is answered, limited and forgotten by the robot's node")
{
    two_nodes t;
    auto waiter = std::make_shared<fake_waiter>();
    REQUIRE(t.a.live.hub.register_tunnel("d1", "t1", "u1", waiter, 8, 8));
    t.a.routing().send_tunnel("d1", "t1", "u1", "{\"type\":\"http_request\",\"id\":\"t1\"}");
    t.net.pump();
    REQUIRE(t.robot->frames.size() == 1);
    auto on_b = t.b.live.hub.take_tunnel("d1", "t1");
    REQUIRE(on_b);
    protocol::robot_http_response r;
    r.id = "t1";
    r.status = 201;
    r.body = boost::json::value{{"ok", true}};
    on_b->complete(r);
    t.net.pump();
    REQUIRE(waiter->response);
    CHECK(waiter->response->status == 201);
    CHECK(*waiter->response->body == boost::json::value{{"ok", true}});

    // b counts the robot's requests in flight (RELAY_TUNNEL_MAX_PER_DEVICE).
    std::vector<std::shared_ptr<fake_waiter>> waiters;
    for (std::size_t i = 0; i <= t.b.rt.options.tunnel_max_per_device; ++i) {
        auto w = std::make_shared<fake_waiter>();
        auto id = "t" + std::to_string(i + 2);
        REQUIRE(t.a.live.hub.register_tunnel("d1", id, "u" + std::to_string(i), w, 1000, 1000));
        t.a.routing().send_tunnel("d1", id, "u" + std::to_string(i), "{}");
        waiters.push_back(w);
    }
    t.net.pump();
    CHECK_FALSE(waiters.front()->failure);
    CHECK(waiters.back()->failure == errc::rate_limited);

    // After the deadline b forgets them: the robot's late answers find nobody, the slots are free.
    t.b.routing().sweep(std::chrono::steady_clock::now() + t.b.rt.options.tunnel_timeout + std::chrono::seconds(1));
    CHECK_FALSE(t.b.live.hub.take_tunnel("d1", "t2"));
    auto w = std::make_shared<fake_waiter>();
    CHECK(t.b.live.hub.register_tunnel("d1", "t-local", "u", w, t.b.rt.options.tunnel_max_per_device, 8));

    // The robot's node gone or out of reach.
    t.net.redis_up = false;
    auto unreachable = std::make_shared<fake_waiter>();
    REQUIRE(t.a.live.hub.register_tunnel("d1", "t99", "u1", unreachable, 1000, 1000));
    t.a.routing().send_tunnel("d1", "t99", "u1", "{}");
    CHECK(unreachable->failure == errc::node_unreachable);
}

namespace {

/** Starts a session from the app on a for the robot on b; returns its id. */
std::string open_session(two_nodes& t, std::optional<errc>& outcome)
{
    auto id = t.a.routing().create_webrtc("d1", "u1", t.app);
    REQUIRE(id);
    outcome = errc::internal;
    t.a.routing().open_webrtc(*id, "d1", "u1",
                              protocol::encode(protocol::robot_webrtc_request{*id, "u1", {}, {}, {}, {}}),
                              [&outcome](std::optional<errc> code, std::string) { outcome = code; });
    t.net.pump();
    return *id;
}

} // namespace

TEST_CASE("cluster routing: WebRTC signaling between an app and a robot on two nodes")
{
    two_nodes t;
    std::optional<errc> opened;
    auto s = open_session(t, opened);
    CHECK_FALSE(opened);
    REQUIRE(t.robot->types() == std::vector<std::string>{"webrtc_request"});
    auto on_b = t.b.live.webrtc.find(s);
    REQUIRE(on_b);
    CHECK(on_b->mirror);
    CHECK_FALSE(t.a.live.webrtc.find(s)->mirror);

    void const* robot_end = static_cast<routing::robot_link const*>(t.robot.get());
    void const* app_end = static_cast<routing::app_link const*>(t.app.get());
    CHECK(handle_webrtc_signal(t.b.rt, t.b.live, webrtc_end::robot, robot_end, protocol::webrtc_offer{s, {protocol::sdp_type::offer, "v=0 offer"}}));
    t.net.pump();
    REQUIRE(t.app->types() == std::vector<std::string>{"webrtc_offer"});
    CHECK(t.a.live.webrtc.find(s)->phase == routing::webrtc_phase::offered);

    CHECK(handle_webrtc_signal(t.a.rt, t.a.live, webrtc_end::app, app_end, protocol::webrtc_answer{s, {protocol::sdp_type::answer, "v=0 answer"}}));
    CHECK(handle_webrtc_signal(t.a.rt, t.a.live, webrtc_end::app, app_end,
                               protocol::webrtc_ice{s, protocol::ice_candidate{"candidate:1", "0", 0, std::nullopt}}));
    t.net.pump();
    CHECK(t.robot->types() == std::vector<std::string>{"webrtc_request", "webrtc_answer", "webrtc_ice"});
    CHECK(t.b.live.webrtc.find(s)->phase == routing::webrtc_phase::answered);
    // Only the session's ends: the robot cannot answer, nor another app signal.
    CHECK_FALSE(handle_webrtc_signal(t.b.rt, t.b.live, webrtc_end::robot, robot_end, protocol::webrtc_answer{s, {protocol::sdp_type::answer, "x"}}));

    // The robot's stats are recorded on the app's node, which keeps the session's history.
    protocol::webrtc_stats stats{s, protocol::stats_state::connected, protocol::connection_type::relay, 12.0};
    CHECK(handle_webrtc_signal(t.b.rt, t.b.live, webrtc_end::robot, robot_end, stats));
    t.net.pump();
    CHECK(t.a.live.webrtc.find(s)->phase == routing::webrtc_phase::connected);
    CHECK(t.app->types().size() == 1);

    // The app closes: the robot hears it from the app, both nodes forget the session.
    CHECK(handle_webrtc_signal(t.a.rt, t.a.live, webrtc_end::app, app_end, protocol::webrtc_close{s, "done"}));
    t.net.pump();
    CHECK(t.robot->types().back() == "webrtc_close");
    CHECK(t.robot->last().at("by") == "app");
    CHECK_FALSE(t.a.live.webrtc.find(s));
    CHECK_FALSE(t.b.live.webrtc.find(s));
    CHECK(t.app->types().size() == 1);
}

TEST_CASE("cluster routing: a WebRTC session ends by relay when its robot leaves or its node stops; limits hold")
{
    two_nodes t;
    std::optional<errc> opened;
    auto s = open_session(t, opened);
    REQUIRE_FALSE(opened);
    // b's per-device limit (1 here) covers apps on every node.
    std::optional<errc> second;
    auto app2 = std::make_shared<fake_app>();
    auto s2 = t.a.routing().create_webrtc("d1", "u2", app2);
    CHECK_FALSE(s2); // a's own registry already counts one for the device
    node c{t.net, "c"};
    auto s3 = c.routing().create_webrtc("d1", "u3", app2);
    REQUIRE(s3);
    c.routing().open_webrtc(*s3, "d1", "u3", "{}", [&second](std::optional<errc> code, std::string) { second = code; });
    t.net.pump();
    CHECK(second == errc::session_limit);

    // The robot leaves b: as device_session does, its sessions end and the app hears "by relay".
    for (auto const& v : t.b.live.webrtc.remove_for_robot(t.robot.get()))
        finish_webrtc_session(t.b.rt, t.b.live, v, protocol::closed_by::relay, "robot_disconnected", notify::app);
    t.net.pump();
    REQUIRE(t.app->types() == std::vector<std::string>{"webrtc_close"});
    CHECK(t.app->last().at("by") == "relay");
    CHECK(t.app->last().at("reason") == "robot_disconnected");
    CHECK_FALSE(t.a.live.webrtc.find(s));

    // Another session; then b stops.
    s = open_session(t, opened);
    REQUIRE_FALSE(opened);
    t.net.kill("b");
    CHECK(t.app->types() == std::vector<std::string>{"webrtc_close", "webrtc_close"});
    CHECK(t.app->last().at("by") == "relay");
    CHECK_FALSE(t.a.live.webrtc.find(s));

    // No node holds the robot now, and with Redis away the app's node cannot ask.
    s2 = t.a.routing().create_webrtc("d1", "u1", t.app);
    REQUIRE(s2);
    t.a.routing().open_webrtc(*s2, "d1", "u1", "{}", [&second](std::optional<errc> code, std::string) { second = code; });
    CHECK(second == errc::device_offline);
    t.a.live.webrtc.remove(*s2);
    t.net.redis_up = false;
    auto s4 = t.a.routing().create_webrtc("d1", "u1", t.app);
    REQUIRE(s4);
    t.a.routing().open_webrtc(*s4, "d1", "u1", "{}", [&second](std::optional<errc> code, std::string) { second = code; });
    CHECK(second == errc::node_unreachable);
}

TEST_CASE("cluster routing: an app's disconnect ends its cross-node session at the robot")
{
    two_nodes t;
    std::optional<errc> opened;
    auto s = open_session(t, opened);
    REQUIRE_FALSE(opened);
    // As app_session does when it ends.
    for (auto const& v : t.a.live.webrtc.remove_for_app(t.app.get()))
        finish_webrtc_session(t.a.rt, t.a.live, v, protocol::closed_by::relay, "app_disconnected", notify::robot);
    t.net.pump();
    CHECK(t.robot->types().back() == "webrtc_close");
    CHECK(t.robot->last().at("reason") == "app_disconnected");
    CHECK_FALSE(t.b.live.webrtc.find(s));
    // The proxy ends are let go at the next sweep.
    t.a.routing().sweep(std::chrono::steady_clock::now());
    t.b.routing().sweep(std::chrono::steady_clock::now());
}
