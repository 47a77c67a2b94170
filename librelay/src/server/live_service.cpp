#include "server/live_service.hpp"

#include "server/ws/ws_connection.hpp"

namespace relay::server {

live_service::live_service(server_options const& options, std::shared_ptr<routing::broker> b,
                           std::shared_ptr<routing::cluster> c)
    : broker(std::move(b)),
      cluster(std::move(c)),
      webrtc(routing::webrtc_limits{options.webrtc_max_per_device, options.webrtc_offer_timeout,
                                    options.webrtc_answer_timeout, options.webrtc_replace_grace})
{
}

void connection_registry::add(std::shared_ptr<ws_connection> const& c)
{
    std::lock_guard lock(mutex_);
    live_[c.get()] = c;
}

void connection_registry::remove(ws_connection const* c)
{
    std::lock_guard lock(mutex_);
    live_.erase(c);
}

std::vector<std::shared_ptr<ws_connection>> connection_registry::of_kind(std::string_view kind) const
{
    std::vector<std::shared_ptr<ws_connection>> out;
    std::lock_guard lock(mutex_);
    for (auto const& [p, w] : live_)
        if (auto c = w.lock(); c && c->kind() == kind)
            out.push_back(std::move(c));
    return out;
}

std::size_t connection_registry::size() const
{
    std::lock_guard lock(mutex_);
    return live_.size();
}

} // namespace relay::server
