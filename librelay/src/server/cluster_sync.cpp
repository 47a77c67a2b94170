#include "server/cluster_sync.hpp"

#include "server/node_message.hpp"
#include "server/services.hpp"
#include "server/webrtc.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace relay::server {
namespace {

// Broadcast kinds: one JSON object each.
constexpr std::string_view access_kind = "access";             // {"user","device","role"|null}
constexpr std::string_view logins_ended_kind = "logins_ended"; // {"user","login"} ("": every login)
constexpr std::string_view device_removed_kind = "device_removed"; // {"device","users":[…]}
constexpr std::string_view robot_close_kind = "robot_close";   // {"device","code"}

void remove_device_here(runtime& rt, live_service& live, std::string const& device_id,
                        std::vector<std::string> const& user_ids)
{
    // The device's WebRTC sessions end first, as access_revoked: each app's webrtc_close is then
    // queued ahead of the access change that may close it with 4403, and the robot's
    // disconnect that follows finds no session left to end as robot_disconnected.
    for (auto const& s : live.webrtc.remove_for_device(device_id))
        finish_webrtc_session(rt, live, s, protocol::closed_by::relay, "access_revoked", notify::both);
    live.hub.remove_device(device_id, user_ids);
}

} // namespace

void set_access_everywhere(live_service& live, std::string const& user_id, std::string const& device_id,
                           std::optional<protocol::role> role)
{
    live.hub.set_access(user_id, device_id, role);
    if (!live.cluster)
        return;
    boost::json::value r = nullptr;
    if (role)
        r = protocol::to_string(*role);
    live.cluster->broadcast(access_kind, boost::json::serialize(
                                             boost::json::object{{"user", user_id}, {"device", device_id}, {"role", r}}));
}

void remove_device_everywhere(runtime& rt, live_service& live, std::string const& device_id,
                              std::vector<std::string> const& user_ids)
{
    remove_device_here(rt, live, device_id, user_ids);
    if (!live.cluster)
        return;
    boost::json::array users;
    for (auto const& u : user_ids)
        users.emplace_back(u);
    live.cluster->broadcast(device_removed_kind,
                            boost::json::serialize(boost::json::object{{"device", device_id}, {"users", std::move(users)}}));
}

void close_robot_everywhere(live_service& live, std::string const& device_id, protocol::close_code code)
{
    if (auto robot = live.hub.robot(device_id))
        robot->close(code);
    if (live.cluster)
        live.cluster->broadcast(robot_close_kind,
                                boost::json::serialize(boost::json::object{{"device", device_id}, {"code", int(code)}}));
}

void broadcast_logins_ended(routing::cluster& cluster, std::string const& user_id, std::string const& login_id)
{
    cluster.broadcast(logins_ended_kind, boost::json::serialize(boost::json::object{{"user", user_id}, {"login", login_id}}));
}

void apply_cluster_broadcasts(services& svc)
{
    auto& live = svc.live;
    if (!live.cluster)
        return;
    // The handlers run on the cluster's thread; every call below only posts to connections.
    live.cluster->on_broadcast(std::string(access_kind), [&live](std::string_view, std::string_view payload) {
        auto o = parse_object(payload);
        if (!o)
            return;
        std::optional<protocol::role> role;
        if (auto r = string_field(*o, "role"); !r.empty()) {
            role = protocol::from_string<protocol::role>(r);
            if (!role)
                return;
        }
        live.hub.set_access(string_field(*o, "user"), string_field(*o, "device"), role);
    });
    live.cluster->on_broadcast(std::string(logins_ended_kind), [&auth = svc.auth](std::string_view, std::string_view payload) {
        auto o = parse_object(payload);
        if (!o)
            return;
        auto login = string_field(*o, "login");
        if (login.empty())
            auth.apply_end_all_logins(string_field(*o, "user"));
        else
            auth.apply_end_login(string_field(*o, "user"), login);
    });
    live.cluster->on_broadcast(std::string(device_removed_kind), [&svc](std::string_view, std::string_view payload) {
        auto o = parse_object(payload);
        if (!o)
            return;
        auto device = string_field(*o, "device");
        std::vector<std::string> users;
        if (auto const* a = o->if_contains("users"); a && a->is_array())
            for (auto const& u : a->as_array())
                if (u.is_string())
                    users.emplace_back(u.as_string());
        remove_device_here(svc.rt, svc.live, device, users);
    });
    live.cluster->on_broadcast(std::string(robot_close_kind), [&live](std::string_view, std::string_view payload) {
        auto o = parse_object(payload);
        if (!o)
            return;
        auto const* code = o->if_contains("code");
        if (!code || !code->is_int64())
            return;
        if (auto robot = live.hub.robot(string_field(*o, "device")))
            robot->close(static_cast<protocol::close_code>(code->as_int64()));
    });
}

net::awaitable<std::vector<bool>> online_everywhere(live_service& live, std::vector<std::string> device_ids)
{
    std::vector<bool> here;
    here.reserve(device_ids.size());
    for (auto const& d : device_ids)
        here.push_back(live.hub.online(d));
    if (!live.cluster || device_ids.empty())
        co_return here;
    auto [ec, everywhere] = co_await net::async_initiate<decltype(use_tuple),
                                                         void(boost::system::error_code, std::vector<bool>)>(
        // By reference only: GCC 12 destroys a temporary inside co_await twice (blocking.hpp).
        [&live, &device_ids](auto handler) {
            // The cluster answers on its own thread: the coroutine resumes on its own.
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            live.cluster->online(device_ids, [h](boost::system::error_code failed, std::vector<bool> online) {
                auto ex = net::get_associated_executor(*h);
                net::post(ex, [h, failed, online = std::move(online)]() mutable { std::move(*h)(failed, std::move(online)); });
            });
        },
        use_tuple);
    if (ec || everywhere.size() != here.size())
        co_return here; // Redis is away: what this node knows
    // A robot attached here whose claim is still on its way is online too.
    for (std::size_t i = 0; i < here.size(); ++i)
        everywhere[i] = everywhere[i] || here[i];
    co_return everywhere;
}

} // namespace relay::server
