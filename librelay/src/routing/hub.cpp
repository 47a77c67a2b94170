#include <relay/routing/hub.hpp>

#include <algorithm>

namespace relay::routing {

std::shared_ptr<robot_link> hub::attach_robot(std::string const& device_id, std::shared_ptr<robot_link> link)
{
    std::lock_guard lock(robots_mutex_);
    auto& slot = robots_[device_id];
    auto previous = slot.lock();
    slot = link;
    return previous;
}

bool hub::detach_robot(std::string const& device_id, robot_link const* link)
{
    std::lock_guard lock(robots_mutex_);
    auto it = robots_.find(device_id);
    if (it == robots_.end())
        return false;
    auto current = it->second.lock();
    if (current && current.get() != link)
        return false; // already replaced by a newer connection
    robots_.erase(it);
    return current != nullptr;
}

std::shared_ptr<robot_link> hub::robot(std::string const& device_id) const
{
    std::lock_guard lock(robots_mutex_);
    auto it = robots_.find(device_id);
    return it == robots_.end() ? nullptr : it->second.lock();
}

void hub::attach_app(std::string const& user_id, std::shared_ptr<app_link> const& link,
                     std::vector<std::string> const& device_ids)
{
    {
        std::lock_guard lock(apps_mutex_);
        auto& links = apps_[user_id];
        std::erase_if(links, [](auto const& w) { return w.expired(); });
        links.push_back(link);
    }
    for (auto const& d : device_ids)
        broker_.subscribe(d, link);
}

void hub::detach_app(std::string const& user_id, app_link const* link, std::vector<std::string> const& device_ids)
{
    for (auto const& d : device_ids)
        broker_.unsubscribe(d, link);
    std::lock_guard lock(apps_mutex_);
    auto it = apps_.find(user_id);
    if (it == apps_.end())
        return;
    std::erase_if(it->second, [link](auto const& w) {
        auto p = w.lock();
        return !p || p.get() == link;
    });
    if (it->second.empty())
        apps_.erase(it);
}

std::vector<std::shared_ptr<app_link>> hub::apps_of(std::string const& user_id) const
{
    std::vector<std::shared_ptr<app_link>> out;
    std::lock_guard lock(apps_mutex_);
    auto it = apps_.find(user_id);
    if (it == apps_.end())
        return out;
    for (auto const& w : it->second)
        if (auto p = w.lock())
            out.push_back(std::move(p));
    return out;
}

void hub::set_access(std::string const& user_id, std::string const& device_id, std::optional<protocol::role> role)
{
    for (auto const& link : apps_of(user_id)) {
        if (role)
            broker_.subscribe(device_id, link);
        else
            broker_.unsubscribe(device_id, link.get());
        link->access_changed(device_id, role);
    }
}

void hub::end_login(std::string const& user_id, std::string const& login_id)
{
    // Only the connection knows which login it currently belongs to (a renewal may change
    // it), so each is told and decides on its own thread.
    if (login_id.empty())
        return; // a token without a login names nothing to end
    for (auto const& link : apps_of(user_id))
        link->login_ended(login_id);
}

void hub::end_all_logins(std::string const& user_id)
{
    for (auto const& link : apps_of(user_id))
        link->login_ended({});
}

void hub::remove_device(std::string const& device_id, std::vector<std::string> const& user_ids)
{
    for (auto const& u : user_ids)
        set_access(u, device_id, std::nullopt);
    std::shared_ptr<robot_link> robot_conn;
    {
        std::lock_guard lock(robots_mutex_);
        auto it = robots_.find(device_id);
        if (it != robots_.end()) {
            robot_conn = it->second.lock();
            robots_.erase(it);
        }
    }
    if (robot_conn)
        robot_conn->close(protocol::close_code::access_revoked);
    take_all_commands(device_id);
    for (auto const& w : take_all_tunnels(device_id))
        w->fail(errc::device_not_found, "the device was deleted");
    broker_.drop_channel(device_id);
}

bool hub::register_command(std::string const& device_id, std::string const& id, std::weak_ptr<app_link> origin)
{
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(commands_mutex_);
    auto& pending = commands_[device_id];
    std::erase_if(pending, [now](auto const& kv) {
        return now - kv.second.at > command_ttl || kv.second.origin.expired();
    });
    if (pending.size() >= max_pending_commands)
        return false;
    return pending.emplace(id, pending_command{std::move(origin), now}).second;
}

std::shared_ptr<app_link> hub::take_command(std::string const& device_id, std::string const& id)
{
    std::lock_guard lock(commands_mutex_);
    auto it = commands_.find(device_id);
    if (it == commands_.end())
        return nullptr;
    auto c = it->second.find(id);
    if (c == it->second.end())
        return nullptr;
    auto origin = c->second.origin.lock();
    it->second.erase(c);
    if (it->second.empty())
        commands_.erase(it);
    return origin;
}

std::vector<std::pair<std::string, std::shared_ptr<app_link>>> hub::take_all_commands(std::string const& device_id)
{
    std::vector<std::pair<std::string, std::shared_ptr<app_link>>> out;
    std::lock_guard lock(commands_mutex_);
    auto it = commands_.find(device_id);
    if (it == commands_.end())
        return out;
    for (auto& [id, c] : it->second)
        if (auto p = c.origin.lock())
            out.emplace_back(id, std::move(p));
    commands_.erase(it);
    return out;
}

std::vector<std::shared_ptr<tunnel_waiter>> hub::take_every_tunnel()
{
    std::vector<std::shared_ptr<tunnel_waiter>> out;
    std::lock_guard lock(tunnels_mutex_);
    for (auto& [device, pending] : tunnels_)
        for (auto& [id, t] : pending)
            if (auto w = t.waiter.lock())
                out.push_back(std::move(w));
    tunnels_.clear();
    tunnels_per_user_.clear();
    return out;
}

bool hub::register_tunnel(std::string const& device_id, std::string const& id, std::string const& user_id,
                          std::weak_ptr<tunnel_waiter> waiter, std::size_t max_per_device, std::size_t max_per_user)
{
    std::lock_guard lock(tunnels_mutex_);
    auto& pending = tunnels_[device_id];
    auto& per_user = tunnels_per_user_[user_id];
    if (pending.size() >= max_per_device || per_user >= max_per_user) {
        if (pending.empty())
            tunnels_.erase(device_id);
        if (per_user == 0)
            tunnels_per_user_.erase(user_id);
        return false;
    }
    if (!pending.emplace(id, pending_tunnel{std::move(waiter), user_id}).second)
        return false;
    ++per_user;
    return true;
}

void hub::release_user(std::string const& user_id)
{
    auto it = tunnels_per_user_.find(user_id);
    if (it != tunnels_per_user_.end() && --it->second == 0)
        tunnels_per_user_.erase(it);
}

std::shared_ptr<tunnel_waiter> hub::take_tunnel(std::string const& device_id, std::string const& id)
{
    std::lock_guard lock(tunnels_mutex_);
    auto it = tunnels_.find(device_id);
    if (it == tunnels_.end())
        return nullptr;
    auto t = it->second.find(id);
    if (t == it->second.end())
        return nullptr;
    auto waiter = t->second.waiter.lock();
    release_user(t->second.user_id);
    it->second.erase(t);
    if (it->second.empty())
        tunnels_.erase(it);
    return waiter;
}

std::vector<std::shared_ptr<tunnel_waiter>> hub::take_all_tunnels(std::string const& device_id)
{
    std::vector<std::shared_ptr<tunnel_waiter>> out;
    std::lock_guard lock(tunnels_mutex_);
    auto it = tunnels_.find(device_id);
    if (it == tunnels_.end())
        return out;
    for (auto& [id, t] : it->second) {
        release_user(t.user_id);
        if (auto w = t.waiter.lock())
            out.push_back(std::move(w));
    }
    tunnels_.erase(it);
    return out;
}

} // namespace relay::routing
