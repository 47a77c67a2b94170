#include <relay/routing/webrtc_registry.hpp>

#include <relay/auth/crypto.hpp>
#include <relay/protocol/errc.hpp>

#include <stdexcept>
#include <string_view>
#include <unordered_set>

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

boost::system::result<std::string> webrtc_registry::create(std::string const& device_id, std::string const& user_id,
                                                           std::weak_ptr<app_link> app, std::weak_ptr<robot_link> robot,
                                                           std::chrono::steady_clock::time_point now,
                                                           std::optional<std::string> const& replaces)
{
    std::lock_guard lock(mutex_);
    if (replaces) {
        // Only the connection that holds a session may renew it: the id alone is no proof.
        auto const* old = replaced(device_id, replaces);
        auto holder = old ? old->view.app.lock() : nullptr;
        if (!holder || holder != app.lock())
            return make_error_code(errc::session_not_found);
    }
    if (at_limit(device_id, replaces))
        return make_error_code(errc::session_limit);
    auto id = new_session_id();
    entry e{{id, device_id, user_id, std::move(app), std::move(robot), webrtc_phase::requested, now, std::nullopt,
             false, replaces},
            now, std::nullopt};
    sessions_.emplace(id, std::move(e));
    return id;
}

boost::system::result<void> webrtc_registry::adopt(std::string const& session_id, std::string const& device_id,
                                                   std::string const& user_id, std::weak_ptr<app_link> app,
                                                   std::weak_ptr<robot_link> robot,
                                                   std::chrono::steady_clock::time_point now,
                                                   std::optional<std::string> const& replaces)
{
    std::lock_guard lock(mutex_);
    if (replaces) {
        auto const* old = replaced(device_id, replaces);
        if (!old || old->view.user_id != user_id)
            return make_error_code(errc::session_not_found);
    }
    if (at_limit(device_id, replaces))
        return make_error_code(errc::session_limit);
    entry e{{session_id, device_id, user_id, std::move(app), std::move(robot), webrtc_phase::requested, now,
             std::nullopt, true, replaces},
            now, std::nullopt};
    if (!sessions_.emplace(session_id, std::move(e)).second)
        return make_error_code(errc::internal);
    return {};
}

webrtc_registry::entry const* webrtc_registry::replaced(std::string const& device_id,
                                                        std::optional<std::string> const& replaces) const
{
    if (!replaces)
        return nullptr;
    auto it = sessions_.find(*replaces);
    return it != sessions_.end() && it->second.view.device_id == device_id ? &it->second : nullptr;
}

bool webrtc_registry::at_limit(std::string const& device_id, std::optional<std::string> const& replaces) const
{
    // A live session and its live replacement hold one slot between them: the renewal must not
    // fail because the device is busy, and an app cannot open more than one free session by
    // replacing the same one again.
    std::size_t open = 0;
    std::unordered_set<std::string_view> renewed; // live sessions with a live replacement
    for (auto const& [id, e] : sessions_) {
        if (e.view.device_id != device_id)
            continue;
        ++open;
        if (replaced(device_id, e.view.replaces))
            renewed.insert(*e.view.replaces);
    }
    if (replaces && !renewed.contains(*replaces))
        return false; // the first replacement of a live session takes its slot over
    return open - renewed.size() >= limits_.per_device;
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
        // Media flows on the replacement: the app closes the old session itself, or the relay
        // does once the grace has passed.
        if (phase == webrtc_phase::connected && e.view.replaces)
            e.replace_at = now + limits_.replace_grace;
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
    std::vector<std::string> due; // sessions replaced past the grace
    for (auto& [id, e] : sessions_)
        if (e.replace_at && *e.replace_at <= now) {
            e.replace_at.reset();
            due.push_back(*e.view.replaces);
        }
    for (auto const& id : due)
        if (auto it = sessions_.find(id); it != sessions_.end()) {
            out.emplace_back(std::move(it->second.view), "replaced");
            sessions_.erase(it);
        }
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
