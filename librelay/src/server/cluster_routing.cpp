#include "server/cluster_routing.hpp"

#include "server/node_message.hpp"
#include "server/services.hpp"
#include "server/webrtc.hpp"

#include <relay/protocol/codec.hpp>

#include <boost/json/serialize.hpp>

#include <limits>
#include <utility>
#include <vector>

namespace relay::server {

/** The node messages, each JSON with the frame to deliver as a string inside. */
struct cluster_routing::kinds {
    // app's node → robot's node
    static constexpr std::string_view command = "route.command";          // conn, device, id, frame
    static constexpr std::string_view http = "route.http";                // device, id, user, frame
    static constexpr std::string_view webrtc_open = "route.webrtc_open";  // session, device, user, frame
    static constexpr std::string_view webrtc_to_robot = "route.webrtc_to_robot"; // session, frame
    // robot's node → app's node
    static constexpr std::string_view command_reply = "route.command_reply"; // conn, device, id, frame, final
    static constexpr std::string_view http_reply = "route.http_reply";       // device, id, response | code+message
    static constexpr std::string_view webrtc_reply = "route.webrtc_reply";   // session[, code, message]
    static constexpr std::string_view webrtc_to_app = "route.webrtc_to_app"; // session, frame
    static constexpr std::string_view webrtc_stats = "route.webrtc_stats";   // session, frame
};

namespace {

constexpr std::string_view node_stopped = "the robot's relay node stopped";

std::uint64_t number(boost::json::object const& o, std::string_view key)
{
    auto const* v = o.if_contains(key);
    if (!v)
        return 0;
    boost::system::error_code ec;
    auto n = v->to_number<std::uint64_t>(ec);
    return ec ? 0 : n;
}

std::shared_ptr<std::string const> shared(std::string s)
{
    return std::make_shared<std::string const>(std::move(s));
}

/** What the transport's refusal means for the app: nobody holds the robot, or Redis is away. */
std::pair<errc, std::string> routing_failure(boost::system::error_code ec)
{
    if (ec == make_error_code(errc::device_offline))
        return {errc::device_offline, "the robot is not connected"};
    return {errc::node_unreachable, "the robot's relay node cannot be reached now; try again"};
}

} // namespace

// --- proxy links ------------------------------------------------------------------------------

/** An app connection on another node, as this node's hub and registry see it. */
class cluster_routing::remote_app : public routing::app_link {
public:
    remote_app(std::weak_ptr<cluster_routing> owner, std::string node) : owner_(std::move(owner)), node_(std::move(node)) {}
    std::string const& node() const noexcept { return node_; }
    // Its node delivers events and access changes itself: nothing of that passes here.
    void deliver(std::string const&, routing::channel_message const&) override {}
    void access_changed(std::string const&, std::optional<protocol::role>) override {}
    void login_ended(std::string const&) override {}
    void close(protocol::close_code) override {}

protected:
    std::weak_ptr<cluster_routing> owner_;
    std::string node_;
};

/** The origin of one command: its answer (the result, or DEVICE_OFFLINE) goes back as final. */
class cluster_routing::remote_command_origin final : public remote_app {
public:
    remote_command_origin(std::weak_ptr<cluster_routing> owner, std::string node, std::uint64_t conn,
                          std::string device_id, std::string id)
        : remote_app(std::move(owner), std::move(node)), conn_(conn), device_id_(std::move(device_id)),
          id_(std::move(id))
    {
    }
    void send(std::shared_ptr<std::string const> frame) override
    {
        auto owner = owner_.lock();
        if (!owner)
            return;
        owner->reply_command(node_, conn_, device_id_, id_, *frame, true);
        std::lock_guard lock(owner->mutex_);
        // Only this command's entry: the same id, answered, may already be pending again (sent
        // from another app), and erasing that would drop its result.
        auto it = owner->commands_in_.find({device_id_, id_});
        if (it != owner->commands_in_.end() && it->second.origin.get() == this)
            owner->commands_in_.erase(it);
    }

private:
    std::uint64_t conn_;
    std::string device_id_;
    std::string id_;
};

/** The app end of a WebRTC session whose app is on another node. */
class cluster_routing::remote_webrtc_app final : public remote_app {
public:
    remote_webrtc_app(std::weak_ptr<cluster_routing> owner, std::string node, std::string session_id)
        : remote_app(std::move(owner), std::move(node)), session_id_(std::move(session_id))
    {
    }
    void send(std::shared_ptr<std::string const> frame) override
    {
        if (auto owner = owner_.lock())
            owner->cluster_.send_to_node(
                node_, kinds::webrtc_to_app,
                boost::json::serialize(boost::json::object{{"session", session_id_}, {"frame", *frame}}));
    }

private:
    std::string session_id_;
};

/** The robot end of a WebRTC session whose robot is on another node. */
class cluster_routing::remote_robot final : public routing::robot_link {
public:
    explicit remote_robot(std::weak_ptr<cluster_routing> owner) : owner_(std::move(owner)) {}
    void send(std::shared_ptr<std::string const> frame) override
    {
        auto owner = owner_.lock();
        if (!owner)
            return;
        std::string node;
        {
            std::lock_guard lock(owner->mutex_);
            node = node_;
        }
        if (node.empty())
            return; // not started there yet: nothing can be signalled before the robot has it
        owner->cluster_.send_to_node(
            node, kinds::webrtc_to_robot,
            boost::json::serialize(boost::json::object{{"session", session_id_}, {"frame", *frame}}));
    }
    void close(protocol::close_code) override {}

    // Owner's mutex_ guards these three once the session exists.
    std::string session_id_;
    std::string node_;
    std::function<void(std::optional<errc>, std::string)> opened_;

private:
    std::weak_ptr<cluster_routing> owner_;
};

/** The caller of one tunnelled request on another node. */
class cluster_routing::remote_tunnel_waiter final : public routing::tunnel_waiter {
public:
    remote_tunnel_waiter(std::weak_ptr<cluster_routing> owner, std::string node, std::string device_id, std::string id)
        : owner_(std::move(owner)), node_(std::move(node)), device_id_(std::move(device_id)), id_(std::move(id))
    {
    }
    std::string const& node() const noexcept { return node_; }
    void complete(protocol::robot_http_response response) override
    {
        auto owner = forget();
        if (!owner)
            return;
        owner->cluster_.send_to_node(node_, kinds::http_reply,
                                     boost::json::serialize(boost::json::object{
                                         {"device", device_id_}, {"id", id_}, {"response", protocol::encode(response)}}));
    }
    void fail(errc code, std::string message) override
    {
        if (auto owner = forget())
            owner->reply_http_error(node_, device_id_, id_, code, message);
    }

private:
    std::shared_ptr<cluster_routing> forget()
    {
        auto owner = owner_.lock();
        if (owner) {
            std::lock_guard lock(owner->mutex_);
            owner->tunnels_in_.erase(id_);
        }
        return owner;
    }
    std::weak_ptr<cluster_routing> owner_;
    std::string node_;
    std::string device_id_;
    std::string id_;
};

// --- setup and connections ----------------------------------------------------------------------

cluster_routing::cluster_routing(runtime& rt, live_service& live, routing::cluster& cluster)
    : rt_(rt), live_(live), cluster_(cluster)
{
}

void cluster_routing::attach()
{
    using handler = void (cluster_routing::*)(std::string_view, std::string_view);
    auto on = [this](std::string_view kind, handler h) {
        cluster_.on_node_message(std::string(kind), [w = weak_from_this(), h](std::string_view from, std::string_view payload) {
            if (auto self = w.lock())
                (self.get()->*h)(from, payload);
        });
    };
    on(kinds::command, &cluster_routing::on_command);
    on(kinds::http, &cluster_routing::on_http);
    on(kinds::webrtc_open, &cluster_routing::on_webrtc_open);
    on(kinds::webrtc_to_robot, &cluster_routing::on_webrtc_to_robot);
    on(kinds::command_reply, &cluster_routing::on_command_reply);
    on(kinds::http_reply, &cluster_routing::on_http_reply);
    on(kinds::webrtc_reply, &cluster_routing::on_webrtc_reply);
    on(kinds::webrtc_to_app, &cluster_routing::on_webrtc_to_app);
    on(kinds::webrtc_stats, &cluster_routing::on_webrtc_stats);
    cluster_.on_node_down([w = weak_from_this()](std::string const& node) {
        if (auto self = w.lock())
            self->on_node_down(node);
    });
}

std::uint64_t cluster_routing::connection_id(std::weak_ptr<routing::app_link> app)
{
    std::lock_guard lock(mutex_);
    auto id = ++next_conn_;
    connections_.emplace(id, std::move(app));
    return id;
}

void cluster_routing::forget_connection(std::uint64_t conn)
{
    std::lock_guard lock(mutex_);
    connections_.erase(conn);
    // The keys of one connection are adjacent: (conn, device, id).
    auto first = commands_out_.lower_bound({conn, std::string(), std::string()});
    auto last = first;
    while (last != commands_out_.end() && std::get<0>(last->first) == conn)
        ++last;
    commands_out_.erase(first, last);
}

std::shared_ptr<routing::app_link> cluster_routing::connection(std::uint64_t conn) const
{
    std::lock_guard lock(mutex_);
    auto it = connections_.find(conn);
    return it == connections_.end() ? nullptr : it->second.lock();
}

// --- commands -----------------------------------------------------------------------------------

void cluster_routing::send_command(std::uint64_t conn, std::string const& device_id, std::string const& id,
                                   std::string frame, std::function<void()> accepted)
{
    auto key = std::make_tuple(conn, device_id, id);
    bool fresh;
    {
        std::lock_guard lock(mutex_);
        fresh = commands_out_.emplace(key, waiting_command{{}, std::move(accepted)}).second;
    }
    if (!fresh) {
        if (auto app = connection(conn))
            app->send(shared(protocol::encode_error(errc::bad_message,
                                                    "a command with this id is already pending for this device", id)));
        return;
    }
    auto payload = boost::json::serialize(
        boost::json::object{{"conn", conn}, {"device", device_id}, {"id", id}, {"frame", std::move(frame)}});
    cluster_.send_to_robot_node(
        device_id, kinds::command, std::move(payload),
        [w = weak_from_this(), key](boost::system::error_code ec, std::string const& node) {
            auto self = w.lock();
            if (!self)
                return;
            {
                std::lock_guard lock(self->mutex_);
                auto it = self->commands_out_.find(key);
                if (it == self->commands_out_.end())
                    return; // answered or settled already
                if (!ec) {
                    it->second.node = node;
                    return;
                }
                self->commands_out_.erase(it);
            }
            auto [code, message] = routing_failure(ec);
            if (auto app = self->connection(std::get<0>(key)))
                app->send(shared(protocol::encode_error(code, message, std::get<2>(key))));
        });
}

void cluster_routing::reply_command(std::string const& node, std::uint64_t conn, std::string const& device_id,
                                    std::string const& id, std::string frame, bool final)
{
    cluster_.send_to_node(node, kinds::command_reply,
                          boost::json::serialize(boost::json::object{{"conn", conn},
                                                                     {"device", device_id},
                                                                     {"id", id},
                                                                     {"frame", std::move(frame)},
                                                                     {"final", final}}));
}

void cluster_routing::on_command(std::string_view from, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    auto conn = number(*o, "conn");
    auto device_id = string_field(*o, "device");
    auto id = string_field(*o, "id");
    std::string node(from);
    auto robot = live_.hub.robot(device_id);
    if (!robot) {
        // It left (or moved) between the lookup and now.
        reply_command(node, conn, device_id, id,
                      protocol::encode_error(errc::device_offline, "the robot is not connected", id), true);
        return;
    }
    auto origin = std::make_shared<remote_command_origin>(weak_from_this(), node, conn, device_id, id);
    if (!live_.hub.register_command(device_id, id, origin)) {
        reply_command(node, conn, device_id, id,
                      protocol::encode_error(errc::bad_message,
                                             "a command with this id is already pending for this device", id),
                      true);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        commands_in_[{device_id, id}] = held_command{origin, std::chrono::steady_clock::now()};
    }
    // The ack leaves before the robot has the command, so its result cannot overtake it
    // (they are sent from different threads).
    reply_command(node, conn, device_id, id, protocol::encode(protocol::ack{id, device_id}), false);
    robot->send(shared(string_field(*o, "frame")));
    rt_.metrics.messages_routed.inc();
}

void cluster_routing::on_command_reply(std::string_view from, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    auto key = std::make_tuple(number(*o, "conn"), string_field(*o, "device"), string_field(*o, "id"));
    auto const* final = o->if_contains("final");
    std::function<void()> accepted;
    {
        std::lock_guard lock(mutex_);
        auto it = commands_out_.find(key);
        if (it == commands_out_.end())
            return; // settled already (its node was declared down) or its connection is gone
        if (final && final->is_bool() && final->get_bool()) {
            commands_out_.erase(it);
        } else {
            it->second.node = std::string(from);
            accepted = std::exchange(it->second.accepted, {});
        }
    }
    if (accepted)
        accepted();
    if (auto app = connection(std::get<0>(key)))
        app->send(shared(string_field(*o, "frame")));
}

// --- REST tunnel --------------------------------------------------------------------------------

void cluster_routing::send_tunnel(std::string const& device_id, std::string const& id, std::string const& user_id,
                                  std::string frame)
{
    {
        std::lock_guard lock(mutex_);
        tunnels_out_[id] = {device_id, std::string()};
    }
    auto payload = boost::json::serialize(
        boost::json::object{{"device", device_id}, {"id", id}, {"user", user_id}, {"frame", std::move(frame)}});
    cluster_.send_to_robot_node(device_id, kinds::http, std::move(payload),
                                [w = weak_from_this(), device_id, id](boost::system::error_code ec, std::string const& node) {
                                    auto self = w.lock();
                                    if (!self)
                                        return;
                                    {
                                        std::lock_guard lock(self->mutex_);
                                        auto it = self->tunnels_out_.find(id);
                                        if (it == self->tunnels_out_.end())
                                            return;
                                        if (!ec) {
                                            it->second.second = node;
                                            return;
                                        }
                                        self->tunnels_out_.erase(it);
                                    }
                                    auto [code, message] = routing_failure(ec);
                                    if (auto waiter = self->live_.hub.take_tunnel(device_id, id))
                                        waiter->fail(code, message);
                                });
}

void cluster_routing::forget_tunnel(std::string const& id)
{
    std::lock_guard lock(mutex_);
    tunnels_out_.erase(id);
}

void cluster_routing::reply_http_error(std::string const& node, std::string const& device_id, std::string const& id,
                                       errc code, std::string const& message)
{
    cluster_.send_to_node(node, kinds::http_reply,
                          boost::json::serialize(boost::json::object{{"device", device_id},
                                                                     {"id", id},
                                                                     {"code", wire_name(code)},
                                                                     {"message", message}}));
}

void cluster_routing::on_http(std::string_view from, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    std::string node(from);
    auto device_id = string_field(*o, "device");
    auto id = string_field(*o, "id");
    auto robot = live_.hub.robot(device_id);
    if (!robot) {
        reply_http_error(node, device_id, id, errc::device_offline, "the robot is not connected");
        return;
    }
    // The per-device limit is counted here, where every request to the robot passes; the
    // per-user one on the caller's node.
    auto waiter = std::make_shared<remote_tunnel_waiter>(weak_from_this(), node, device_id, id);
    {
        std::lock_guard lock(mutex_);
        tunnels_in_[id] = held_tunnel{waiter, device_id, std::chrono::steady_clock::now() + rt_.options.tunnel_timeout};
    }
    if (!live_.hub.register_tunnel(device_id, id, string_field(*o, "user"), waiter, rt_.options.tunnel_max_per_device,
                                   std::numeric_limits<std::size_t>::max())) {
        {
            std::lock_guard lock(mutex_);
            tunnels_in_.erase(id);
        }
        reply_http_error(node, device_id, id, errc::rate_limited,
                         "too many tunnelled requests in flight for this robot or user");
        return;
    }
    robot->send(shared(string_field(*o, "frame")));
}

void cluster_routing::on_http_reply(std::string_view, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    auto device_id = string_field(*o, "device");
    auto id = string_field(*o, "id");
    {
        std::lock_guard lock(mutex_);
        if (tunnels_out_.erase(id) == 0)
            return; // timed out or settled already
    }
    auto waiter = live_.hub.take_tunnel(device_id, id);
    if (!waiter)
        return;
    if (o->contains("response")) {
        // Checked by the robot's node already; decoded again to hand it over as one.
        auto decoded = protocol::decode_device_inbound(string_field(*o, "response"));
        if (decoded.ok())
            if (auto* r = std::get_if<protocol::robot_http_response>(&decoded.value())) {
                waiter->complete(std::move(*r));
                return;
            }
        waiter->fail(errc::device_bad_response, "the robot's answer could not be read");
        return;
    }
    auto code = errc_from_wire_name(string_field(*o, "code")).value_or(errc::internal);
    waiter->fail(code, string_field(*o, "message"));
}

// --- WebRTC signaling ---------------------------------------------------------------------------

namespace {

/** The proxy end of session `id` among `links`, guarded by `m`; null when it ended. */
template <class Link>
std::shared_ptr<Link> held_link(std::mutex& m, std::unordered_map<std::string, std::shared_ptr<Link>> const& links,
                                std::string const& id)
{
    std::lock_guard lock(m);
    auto it = links.find(id);
    return it == links.end() ? nullptr : it->second;
}

} // namespace

boost::system::result<std::string> cluster_routing::create_webrtc(std::string const& device_id,
                                                                  std::string const& user_id,
                                                                  std::weak_ptr<routing::app_link> app,
                                                                  std::optional<std::string> const& replaces)
{
    auto robot = std::make_shared<remote_robot>(weak_from_this());
    auto id = live_.webrtc.create(device_id, user_id, std::move(app), robot, std::chrono::steady_clock::now(), replaces);
    if (id) {
        std::lock_guard lock(mutex_);
        robot->session_id_ = *id;
        robots_out_.emplace(*id, std::move(robot));
    }
    return id;
}

void cluster_routing::open_webrtc(std::string const& session_id, std::string const& device_id,
                                  std::string const& user_id, std::string frame,
                                  std::function<void(std::optional<errc>, std::string)> done,
                                  std::optional<std::string> const& replaces)
{
    {
        std::lock_guard lock(mutex_);
        auto it = robots_out_.find(session_id);
        if (it == robots_out_.end())
            return; // ended meanwhile (the app left)
        it->second->opened_ = std::move(done);
    }
    boost::json::object request{{"session", session_id}, {"device", device_id}, {"user", user_id}, {"frame", std::move(frame)}};
    if (replaces)
        request["replaces"] = *replaces;
    auto payload = boost::json::serialize(request);
    cluster_.send_to_robot_node(
        device_id, kinds::webrtc_open, std::move(payload),
        [w = weak_from_this(), session_id](boost::system::error_code ec, std::string const& node) {
            auto self = w.lock();
            if (!self)
                return;
            std::function<void(std::optional<errc>, std::string)> opened;
            {
                std::lock_guard lock(self->mutex_);
                auto it = self->robots_out_.find(session_id);
                if (it == self->robots_out_.end())
                    return;
                if (!ec) {
                    if (it->second->node_.empty())
                        it->second->node_ = node;
                    return;
                }
                opened = std::move(it->second->opened_);
                self->robots_out_.erase(it);
            }
            auto [code, message] = routing_failure(ec);
            if (opened)
                opened(code, message);
        });
}

void cluster_routing::on_webrtc_open(std::string_view from, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    std::string node(from);
    auto session_id = string_field(*o, "session");
    auto device_id = string_field(*o, "device");
    auto refuse = [&](errc code, std::string_view message) {
        cluster_.send_to_node(node, kinds::webrtc_reply,
                              boost::json::serialize(boost::json::object{
                                  {"session", session_id}, {"code", wire_name(code)}, {"message", message}}));
    };
    auto robot = live_.hub.robot(device_id);
    if (!robot)
        return refuse(errc::device_offline, "the robot is not connected");
    // A renewal replaces a session this node holds for an app on the asking node.
    std::optional<std::string> replaces;
    if (o->contains("replaces")) {
        replaces = string_field(*o, "replaces");
        auto old = held_link(mutex_, apps_in_, *replaces);
        if (!old || old->node() != node)
            return refuse(errc::session_not_found, "the session to replace has ended");
    }
    // Every session of the robot passes through here: its node enforces the per-device limit.
    auto app = std::make_shared<remote_webrtc_app>(weak_from_this(), node, session_id);
    if (auto adopted = live_.webrtc.adopt(session_id, device_id, string_field(*o, "user"), app, robot,
                                          std::chrono::steady_clock::now(), replaces);
        !adopted) {
        if (adopted.error() == make_error_code(errc::session_not_found))
            return refuse(errc::session_not_found, "the session to replace has ended");
        return refuse(errc::session_limit, "this robot already has its maximum of WebRTC sessions");
    }
    {
        std::lock_guard lock(mutex_);
        apps_in_[session_id] = app;
    }
    // The reply goes first: the robot's offer, sent after it, finds the session started there.
    cluster_.send_to_node(node, kinds::webrtc_reply, boost::json::serialize(boost::json::object{{"session", session_id}}));
    robot->send(shared(string_field(*o, "frame")));
}

void cluster_routing::on_webrtc_reply(std::string_view from, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    auto session_id = string_field(*o, "session");
    std::function<void(std::optional<errc>, std::string)> opened;
    std::optional<errc> code;
    {
        std::lock_guard lock(mutex_);
        auto it = robots_out_.find(session_id);
        if (it == robots_out_.end())
            return;
        opened = std::move(it->second->opened_);
        if (o->contains("code")) {
            code = errc_from_wire_name(string_field(*o, "code")).value_or(errc::internal);
            robots_out_.erase(it);
        } else {
            it->second->node_ = std::string(from);
        }
    }
    if (opened)
        opened(code, string_field(*o, "message"));
    if (!code && !live_.webrtc.find(session_id)) {
        // The app left while the robot's node started the session: it ends there too.
        protocol::webrtc_close_notice notice{session_id, "app_disconnected", protocol::closed_by::relay};
        cluster_.send_to_node(std::string(from), kinds::webrtc_to_robot,
                              boost::json::serialize(boost::json::object{{"session", session_id},
                                                                         {"frame", protocol::encode(notice)}}));
    }
}

void cluster_routing::end_webrtc(std::string const& session_id, protocol::webrtc_close_notice const& notice,
                                 bool tell_app)
{
    if (auto s = live_.webrtc.remove(session_id))
        finish_webrtc_session(rt_, live_, *s, notice.by, notice.reason, tell_app ? notify::app : notify::robot);
}

template <class Decoded>
void cluster_routing::pass_signal(std::string const& session_id, webrtc_end from, void const* link,
                                  Decoded const& decoded)
{
    // The other node's end signals through the same checks as a local one (its end here is the
    // proxy), so an end sending what it may not is refused here too.
    std::visit(
        [&](auto const& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::webrtc_offer> || std::is_same_v<T, protocol::webrtc_answer> ||
                          std::is_same_v<T, protocol::webrtc_ice>)
                handle_webrtc_signal(rt_, live_, from, link, m);
            else if constexpr (std::is_same_v<T, protocol::webrtc_close_notice>)
                end_webrtc(session_id, m, from == webrtc_end::robot);
        },
        decoded);
}

void cluster_routing::on_webrtc_to_app(std::string_view, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    auto session_id = string_field(*o, "session");
    auto robot = held_link(mutex_, robots_out_, session_id);
    auto decoded = protocol::decode_app_outbound(string_field(*o, "frame"));
    if (robot && decoded.ok())
        pass_signal(session_id, webrtc_end::robot, static_cast<routing::robot_link const*>(robot.get()), decoded.value());
}

void cluster_routing::on_webrtc_to_robot(std::string_view, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    auto session_id = string_field(*o, "session");
    auto app = held_link(mutex_, apps_in_, session_id);
    auto decoded = protocol::decode_device_outbound(string_field(*o, "frame"));
    if (app && decoded.ok())
        pass_signal(session_id, webrtc_end::app, static_cast<routing::app_link const*>(app.get()), decoded.value());
}

void cluster_routing::on_webrtc_stats(std::string_view, std::string_view payload)
{
    auto o = parse_object(payload);
    if (!o)
        return;
    auto robot = held_link(mutex_, robots_out_, string_field(*o, "session"));
    auto decoded = protocol::decode_device_inbound(string_field(*o, "frame"));
    if (!robot || !decoded.ok())
        return;
    if (auto* stats = std::get_if<protocol::webrtc_stats>(&decoded.value()))
        handle_webrtc_signal(rt_, live_, webrtc_end::robot, static_cast<routing::robot_link const*>(robot.get()), *stats);
}

void cluster_routing::forward_stats(routing::webrtc_session_view const& session, protocol::webrtc_stats const& stats)
{
    std::string node;
    {
        std::lock_guard lock(mutex_);
        auto it = apps_in_.find(session.session_id);
        if (it == apps_in_.end())
            return;
        node = it->second->node();
    }
    cluster_.send_to_node(node, kinds::webrtc_stats,
                          boost::json::serialize(boost::json::object{{"session", session.session_id},
                                                                     {"frame", protocol::encode(stats)}}));
}

// --- a node went away, deadlines ------------------------------------------------------------------

void cluster_routing::on_node_down(std::string const& node)
{
    std::vector<std::tuple<std::uint64_t, std::string, std::string>> commands;
    std::vector<std::pair<std::string, std::string>> tunnels_waiting; // device, id
    std::vector<std::pair<std::string, std::string>> tunnels_held;    // device, id
    std::vector<std::string> robot_sessions;
    std::vector<std::function<void(std::optional<errc>, std::string)>> openings;
    std::vector<std::string> app_sessions;
    {
        std::lock_guard lock(mutex_);
        // As the app's node: what waits for that node fails now.
        for (auto it = commands_out_.begin(); it != commands_out_.end();)
            if (it->second.node == node) {
                commands.push_back(it->first);
                it = commands_out_.erase(it);
            } else {
                ++it;
            }
        for (auto it = tunnels_out_.begin(); it != tunnels_out_.end();)
            if (it->second.second == node) {
                tunnels_waiting.emplace_back(it->second.first, it->first);
                it = tunnels_out_.erase(it);
            } else {
                ++it;
            }
        for (auto it = robots_out_.begin(); it != robots_out_.end();)
            if (it->second->node_ == node) {
                if (it->second->opened_)
                    openings.push_back(std::move(it->second->opened_));
                else
                    robot_sessions.push_back(it->first);
                it = robots_out_.erase(it);
            } else {
                ++it;
            }
        // As the robot's node: what that node's apps asked for is dropped.
        std::erase_if(commands_in_, [&](auto const& kv) { return kv.second.origin->node() == node; });
        for (auto it = tunnels_in_.begin(); it != tunnels_in_.end();)
            if (it->second.waiter->node() == node) {
                tunnels_held.emplace_back(it->second.device_id, it->first);
                it = tunnels_in_.erase(it);
            } else {
                ++it;
            }
        for (auto it = apps_in_.begin(); it != apps_in_.end();)
            if (it->second->node() == node) {
                app_sessions.push_back(it->first);
                it = apps_in_.erase(it);
            } else {
                ++it;
            }
    }
    for (auto const& [conn, device_id, id] : commands)
        if (auto app = connection(conn))
            app->send(shared(protocol::encode_error(errc::device_offline, node_stopped, id)));
    for (auto const& [device_id, id] : tunnels_waiting)
        if (auto waiter = live_.hub.take_tunnel(device_id, id))
            waiter->fail(errc::device_offline, std::string(node_stopped));
    for (auto const& [device_id, id] : tunnels_held)
        live_.hub.take_tunnel(device_id, id);
    for (auto& opened : openings)
        opened(errc::device_offline, std::string(node_stopped));
    for (auto const& id : robot_sessions)
        if (auto s = live_.webrtc.remove(id))
            finish_webrtc_session(rt_, live_, *s, protocol::closed_by::relay, "robot_disconnected", notify::app);
    for (auto const& id : app_sessions)
        if (auto s = live_.webrtc.remove(id))
            finish_webrtc_session(rt_, live_, *s, protocol::closed_by::relay, "app_disconnected", notify::robot);
    if (!commands.empty() || !tunnels_waiting.empty() || !robot_sessions.empty() || !openings.empty())
        rt_.log.info("node_down_settled", {{"node", node},
                                           {"commands", commands.size()},
                                           {"tunnels", tunnels_waiting.size()},
                                           {"webrtc_sessions", robot_sessions.size() + openings.size()}});
}

void cluster_routing::sweep(std::chrono::steady_clock::time_point now)
{
    std::vector<std::pair<std::string, std::string>> expired; // device, id
    std::vector<std::string> sessions;
    {
        std::lock_guard lock(mutex_);
        for (auto it = tunnels_in_.begin(); it != tunnels_in_.end();)
            if (it->second.deadline <= now) {
                expired.emplace_back(it->second.device_id, it->first);
                it = tunnels_in_.erase(it);
            } else {
                ++it;
            }
        // The hub forgets commands its robot never answered after command_ttl: so do both ends.
        std::erase_if(commands_in_, [&](auto const& kv) { return now - kv.second.at > routing::hub::command_ttl; });
        std::erase_if(commands_out_, [&](auto const& kv) { return now - kv.second.at > routing::hub::command_ttl; });
        for (auto const& [id, link] : robots_out_)
            sessions.push_back(id);
        for (auto const& [id, link] : apps_in_)
            sessions.push_back(id);
    }
    // The caller's node gave up at the same deadline: the robot's late answer finds nobody.
    for (auto const& [device_id, id] : expired)
        live_.hub.take_tunnel(device_id, id);
    // Proxy ends of sessions that ended here (an end left, a deadline passed: the app was told)
    // are let go, also one whose start the robot's node never answered (Redis went away).
    std::vector<std::string> ended;
    for (auto const& id : sessions)
        if (!live_.webrtc.find(id))
            ended.push_back(id);
    if (ended.empty())
        return;
    std::lock_guard lock(mutex_);
    for (auto const& id : ended) {
        robots_out_.erase(id);
        apps_in_.erase(id);
    }
}

} // namespace relay::server
