#include <relay/routing/webrtc_registry.hpp>

#include <relay/auth/crypto.hpp>

#include <algorithm>
#include <stdexcept>

namespace relay::routing {
namespace {

// A session id is a capability: 128 bits from the CSPRNG, so it cannot be guessed.
std::string new_session_id()
{
    auto id = auth::random_id("s_");
    if (!id)
        throw std::runtime_error("the CSPRNG failed");
    return std::move(*id);
}

} // namespace

std::optional<std::string> webrtc_registry::create(std::string const& device_id, std::string const& user_id,
                                                   std::weak_ptr<app_link> app, std::weak_ptr<robot_link> robot,
                                                   std::chrono::steady_clock::time_point now)
{
    std::lock_guard lock(mutex_);
    if (at_limit(device_id))
        return std::nullopt;
    auto id = new_session_id();
    entry e{{id, device_id, user_id, std::move(app), std::move(robot), webrtc_phase::requested, now, std::nullopt}, now};
    sessions_.emplace(id, std::move(e));
    return id;
}

bool webrtc_registry::adopt(std::string const& session_id, std::string const& device_id, std::string const& user_id,
                            std::weak_ptr<app_link> app, std::weak_ptr<robot_link> robot,
                            std::chrono::steady_clock::time_point now)
{
    std::lock_guard lock(mutex_);
    if (at_limit(device_id))
        return false;
    entry e{{session_id, device_id, user_id, std::move(app), std::move(robot), webrtc_phase::requested, now,
             std::nullopt, true},
            now};
    return sessions_.emplace(session_id, std::move(e)).second;
}

bool webrtc_registry::at_limit(std::string const& device_id) const
{
    auto open = std::count_if(sessions_.begin(), sessions_.end(),
                              [&](auto const& kv) { return kv.second.view.device_id == device_id; });
    return static_cast<std::size_t>(open) >= limits_.per_device;
}

std::optional<webrtc_session_view> webrtc_registry::find(std::string const& session_id) const
{
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end())
        return std::nullopt;
    return it->second.view;
}

void webrtc_registry::advance(std::string const& session_id, webrtc_phase phase,
                              std::chrono::steady_clock::time_point now, std::optional<protocol::connection_type> type)
{
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end())
        return;
    auto& e = it->second;
    if (type)
        e.view.connection_type = type;
    if (phase > e.view.phase) {
        e.view.phase = phase;
        e.phase_since = now;
    }
}

std::optional<webrtc_session_view> webrtc_registry::remove(std::string const& session_id)
{
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end())
        return std::nullopt;
    auto view = std::move(it->second.view);
    sessions_.erase(it);
    return view;
}

std::vector<webrtc_session_view> webrtc_registry::remove_for_app(app_link const* app, std::string const& device_id)
{
    std::vector<webrtc_session_view> out;
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        auto p = it->second.view.app.lock();
        bool mine = !p || p.get() == app;
        if (mine && (device_id.empty() || it->second.view.device_id == device_id)) {
            out.push_back(std::move(it->second.view));
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::vector<webrtc_session_view> webrtc_registry::remove_for_robot(robot_link const* robot)
{
    std::vector<webrtc_session_view> out;
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        auto p = it->second.view.robot.lock();
        if (!p || p.get() == robot) {
            out.push_back(std::move(it->second.view));
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::vector<webrtc_session_view> webrtc_registry::remove_for_device(std::string const& device_id)
{
    std::vector<webrtc_session_view> out;
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (it->second.view.device_id == device_id) {
            out.push_back(std::move(it->second.view));
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::vector<std::pair<webrtc_session_view, std::string>> webrtc_registry::expire(std::chrono::steady_clock::time_point now)
{
    std::vector<std::pair<webrtc_session_view, std::string>> out;
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        auto const& e = it->second;
        char const* reason = nullptr;
        if (e.view.phase == webrtc_phase::requested && now - e.phase_since >= limits_.offer_timeout)
            reason = "offer_timeout";
        else if (e.view.phase == webrtc_phase::offered && now - e.phase_since >= limits_.answer_timeout)
            reason = "answer_timeout";
        if (reason) {
            out.emplace_back(std::move(it->second.view), reason);
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::size_t webrtc_registry::active() const
{
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

} // namespace relay::routing
