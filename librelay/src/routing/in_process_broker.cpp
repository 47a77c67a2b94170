#include <relay/routing/in_process_broker.hpp>

#include <algorithm>

namespace relay::routing {

in_process_broker::in_process_broker(replay_limits limits)
    : limits_(limits),
      first_seq_(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count()))
{
}

in_process_broker::shard& in_process_broker::shard_for(std::string const& channel)
{
    return shards_[std::hash<std::string>{}(channel) % shards_.size()];
}

void in_process_broker::prune(channel_state& c, std::chrono::steady_clock::time_point now) const
{
    while (c.kept.size() > limits_.max_events)
        c.kept.pop_front();
    while (!c.kept.empty() && now - c.kept.front().at > limits_.max_age)
        c.kept.pop_front();
}

void in_process_broker::deliver_all(std::string const& channel, channel_state& c, channel_message const& m)
{
    // Delivery only queues (on another thread through its inbox; on the subscriber's own
    // thread straight onto the connection's send queue) and never calls back into the broker,
    // so doing it under the shard lock is safe, cheap, and keeps each channel's order identical
    // for every subscriber.
    bool expired = false;
    for (auto const& w : c.subscribers) {
        if (auto s = w.lock())
            s->deliver(channel, m);
        else
            expired = true;
    }
    if (expired)
        std::erase_if(c.subscribers, [](auto const& w) { return w.expired(); });
}

void in_process_broker::subscribe(std::string const& channel, std::shared_ptr<subscriber> const& s)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto& subs = sh.channels[channel].subscribers;
    for (auto const& w : subs)
        if (w.lock() == s)
            return;
    subs.push_back(s);
}

void in_process_broker::unsubscribe(std::string const& channel, subscriber const* s)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto it = sh.channels.find(channel);
    if (it == sh.channels.end())
        return;
    std::erase_if(it->second.subscribers, [s](auto const& w) {
        auto p = w.lock();
        return !p || p.get() == s;
    });
}

std::uint64_t in_process_broker::publish(std::string const& channel,
                                         std::function<std::shared_ptr<std::string const>(std::uint64_t)> const& build)
{
    auto& sh = shard_for(channel);
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(sh.mutex);
    auto& c = sh.channels[channel];
    std::uint64_t seq = c.last_seq == 0 ? first_seq_ : c.last_seq + 1;
    c.last_seq = seq;
    channel_message m{seq, now, build(seq)};
    if (limits_.max_events > 0) {
        c.kept.push_back(m);
        prune(c, now);
    }
    deliver_all(channel, c, m);
    return seq;
}

void in_process_broker::publish_transient(std::string const& channel, std::shared_ptr<std::string const> frame)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto it = sh.channels.find(channel);
    if (it == sh.channels.end())
        return;
    deliver_all(channel, it->second, channel_message{0, std::chrono::steady_clock::now(), std::move(frame)});
}

history_result in_process_broker::history(std::string const& channel, std::uint64_t after_seq)
{
    // after_seq 0 means "everything you have": it counts as having what came before this relay
    // started. A non-zero after_seq from before this relay's numbering began means events may
    // have been lost with the previous process, so the answer cannot be complete.
    std::uint64_t have = after_seq == 0 ? first_seq_ - 1 : after_seq;
    history_result out;
    out.complete = have >= first_seq_ - 1;

    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto it = sh.channels.find(channel);
    if (it == sh.channels.end())
        return out;
    auto& c = it->second;
    prune(c, std::chrono::steady_clock::now());
    out.last_seq = c.last_seq;
    if (c.last_seq == 0 || have >= c.last_seq)
        return out;
    // Everything after `have` is here only if the oldest kept message follows it directly.
    std::uint64_t oldest = c.kept.empty() ? c.last_seq + 1 : c.kept.front().seq;
    if (oldest > have + 1)
        out.complete = false;
    for (auto const& m : c.kept)
        if (m.seq > have)
            out.messages.push_back(m);
    return out;
}

void in_process_broker::drop_channel(std::string const& channel)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    sh.channels.erase(channel);
}

std::size_t in_process_broker::subscriber_count(std::string const& channel)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto it = sh.channels.find(channel);
    if (it == sh.channels.end())
        return 0;
    return static_cast<std::size_t>(std::count_if(it->second.subscribers.begin(), it->second.subscribers.end(),
                                                  [](auto const& w) { return !w.expired(); }));
}

} // namespace relay::routing
