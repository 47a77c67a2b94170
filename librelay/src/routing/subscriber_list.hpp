#pragma once
// A channel's local subscribers, as both brokers keep them (in_process_broker and the Redis
// broker of relay/cluster): weak references, so a connection that went away is skipped and
// forgotten without having to unsubscribe first.
#include <relay/routing/broker.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace relay::routing {

using subscriber_list = std::vector<std::weak_ptr<subscriber>>;

/** Delivers `m` to every subscriber still alive, in list order, and forgets the ones gone. */
inline void deliver_to(subscriber_list& subscribers, std::string const& channel, channel_message const& m)
{
    bool expired = false;
    for (auto const& w : subscribers) {
        if (auto s = w.lock())
            s->deliver(channel, m);
        else
            expired = true;
    }
    if (expired)
        std::erase_if(subscribers, [](auto const& w) { return w.expired(); });
}

/** How many subscribers are still alive. */
inline std::size_t live_count(subscriber_list const& subscribers)
{
    return static_cast<std::size_t>(
        std::count_if(subscribers.begin(), subscribers.end(), [](auto const& w) { return !w.expired(); }));
}

} // namespace relay::routing
