#include <relay/routing/in_process_broker.hpp>

#include "routing/subscriber_list.hpp"

#include <relay/telemetry/metrics.hpp>

#include <algorithm>

namespace relay::routing {

in_process_broker::in_process_broker(replay_limits limits, telemetry::registry* metrics)
    : limits_(limits),
      first_seq_(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count()))
{
    if (!metrics)
        return;
    bytes_gauge_ = &metrics->get_gauge("relay_history_bytes",
                                       "Bytes kept for resume, all devices together (frames and bookkeeping).");
    events_gauge_ = &metrics->get_gauge("relay_history_events", "Events kept for resume, all devices together.");
    constexpr std::array<char const*, 4> reasons = {"age", "device_events", "device_bytes", "total_bytes"};
    for (std::size_t i = 0; i < reasons.size(); ++i)
        evicted_[i] = &metrics->get_counter("relay_history_evicted_events_total",
                                            "Events dropped from the resume history, by the bound that dropped them.",
                                            {{"reason", reasons[i]}});
}

in_process_broker::shard& in_process_broker::shard_for(std::string const& channel)
{
    return shards_[std::hash<std::string>{}(channel) % shards_.size()];
}

in_process_broker::channel_state& in_process_broker::channel_for(shard& sh, std::string const& channel)
{
    auto [it, fresh] = sh.channels.try_emplace(channel);
    // A channel dropped earlier (its device deleted) must not reuse a seq an app may still hold.
    if (fresh)
        it->second.first_seq = std::max(first_seq_, forgotten_ceiling_.load() + 1);
    return it->second;
}

void in_process_broker::raise_ceiling(std::uint64_t last_seq)
{
    auto seen = forgotten_ceiling_.load();
    while (seen < last_seq && !forgotten_ceiling_.compare_exchange_weak(seen, last_seq)) {
    }
}

void in_process_broker::deliver_all(std::string const& channel, channel_state& c, channel_message const& m)
{
    // Delivery only queues (on another thread through its inbox; on the subscriber's own
    // thread straight onto the connection's send queue) and never calls back into the broker,
    // so doing it under the shard lock is safe, cheap, and keeps each channel's order identical
    // for every subscriber.
    deliver_to(c.subscribers, channel, m);
}

bool in_process_broker::pop_oldest(history_map::value_type& entry, std::optional<eviction_reason> why)
{
    auto& h = entry.second;
    auto const& front = h.kept.front();
    oldest_.erase(front.order);
    h.bytes -= front.bytes;
    total_bytes_ -= front.bytes;
    --total_events_;
    if (why)
        if (auto* c = evicted_[static_cast<std::size_t>(*why)])
            c->inc();
    if (!front.event_id.empty())
        h.seq_by_id.erase(front.event_id);
    h.kept.pop_front();
    if (h.kept.empty()) {
        // An empty deque still holds a block: a channel that keeps nothing costs nothing here.
        histories_.erase(histories_.find(entry.first));
        return false;
    }
    oldest_.emplace(h.kept.front().order, &entry);
    return true;
}

void in_process_broker::expire(std::chrono::steady_clock::time_point now)
{
    while (!oldest_.empty()) {
        auto* entry = oldest_.begin()->second;
        if (now - entry->second.kept.front().message.at <= limits_.max_age)
            break;
        pop_oldest(*entry, eviction_reason::age);
    }
}

void in_process_broker::keep(std::string const& channel, channel_message const& m, std::string_view event_id)
{
    if (limits_.max_events == 0)
        return;
    std::size_t const bytes = m.frame->size() + kept_event_overhead + event_id.size();
    auto it = histories_.find(channel);
    if (bytes > limits_.max_bytes_per_device || bytes > limits_.max_total_bytes) {
        // Too big to keep. What is kept must run without a gap up to the channel's newest seq,
        // so the older events go too, and a resume from before this one says complete:false.
        if (it != histories_.end())
            while (pop_oldest(*it, eviction_reason::device_bytes)) {
            }
        if (auto* c = evicted_[static_cast<std::size_t>(eviction_reason::device_bytes)])
            c->inc();
        return;
    }
    if (it != histories_.end()) {
        auto& h = it->second;
        for (bool alive = true; alive && (h.kept.size() >= limits_.max_events ||
                                          h.bytes + bytes > limits_.max_bytes_per_device);) {
            auto why = h.kept.size() >= limits_.max_events ? eviction_reason::device_events
                                                           : eviction_reason::device_bytes;
            alive = pop_oldest(*it, why);
        }
    }
    // The total bound: the globally oldest events go first, whichever device they belong to. A
    // device holds at most max_bytes_per_device, so one device alone cannot push out the others.
    while (total_bytes_ + bytes > limits_.max_total_bytes && !oldest_.empty())
        pop_oldest(*oldest_.begin()->second, eviction_reason::total_bytes);

    auto& entry = *histories_.try_emplace(channel).first;
    auto& h = entry.second;
    kept_event e{m, next_order_++, bytes, std::string(event_id)};
    if (h.kept.empty())
        oldest_.emplace(e.order, &entry);
    if (!event_id.empty())
        h.seq_by_id.emplace(e.event_id, m.seq);
    h.kept.push_back(std::move(e));
    h.bytes += bytes;
    total_bytes_ += bytes;
    ++total_events_;
}

std::optional<std::uint64_t> in_process_broker::kept_seq(std::string const& channel, std::string_view event_id)
{
    auto it = histories_.find(channel);
    if (it == histories_.end())
        return std::nullopt;
    auto const& ids = it->second.seq_by_id;
    auto found = ids.find(std::string(event_id));
    if (found == ids.end())
        return std::nullopt;
    return found->second;
}

void in_process_broker::forget_history(std::string const& channel)
{
    auto it = histories_.find(channel);
    if (it != histories_.end())
        while (pop_oldest(*it, std::nullopt)) {
        }
}

void in_process_broker::publish_stats()
{
    if (bytes_gauge_)
        bytes_gauge_->set(static_cast<std::int64_t>(total_bytes_));
    if (events_gauge_)
        events_gauge_->set(static_cast<std::int64_t>(total_events_));
}

void in_process_broker::subscribe(std::string const& channel, std::shared_ptr<subscriber> const& s)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto& subs = channel_for(sh, channel).subscribers;
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

publish_result in_process_broker::publish(std::string const& channel, std::optional<std::string_view> event_id,
                                         frame_builder const& build)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto now = std::chrono::steady_clock::now();
    std::string_view const id = event_id.value_or(std::string_view{});
    if (!id.empty()) {
        // The shard lock is held from here to keep(): nothing else can add this channel's ids
        // meanwhile (other channels' publishes may only evict them).
        std::lock_guard history_lock(history_mutex_);
        expire(now);
        if (auto seq = kept_seq(channel, id))
            return {*seq, true};
    }
    auto& c = channel_for(sh, channel);
    std::uint64_t seq = c.last_seq == 0 ? c.first_seq : c.last_seq + 1;
    c.last_seq = seq;
    channel_message m{seq, now, build(seq)};
    {
        std::lock_guard history_lock(history_mutex_);
        expire(m.at);
        keep(channel, m, id);
        publish_stats();
    }
    deliver_all(channel, c, m);
    return {seq, false};
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

void in_process_broker::publish(std::string const& channel, std::optional<std::string_view> event_id,
                                frame_around_seq frame, publish_handler done)
{
    auto r = publish(channel, event_id, [&](std::uint64_t seq) { return frame.with_seq(seq); });
    if (done)
        done({}, r);
}

void in_process_broker::history(std::string const& channel, std::uint64_t after_seq, history_page page,
                                history_handler done)
{
    done({}, history(channel, after_seq, page));
}

history_result in_process_broker::history(std::string const& channel, std::uint64_t after_seq, history_page page)
{
    history_result out;
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto cit = sh.channels.find(channel);
    if (cit == sh.channels.end()) {
        // Nothing was published here since this channel was dropped, if ever. A seq from
        // before this relay started, or one a dropped channel may have used, may have missed
        // events that are gone now.
        out.complete = after_seq == 0 || (after_seq >= first_seq_ - 1 && after_seq > forgotten_ceiling_.load());
        return out;
    }
    auto const& c = cit->second;
    // after_seq 0 means "everything you have": it counts as having what came before this
    // channel's numbering began. A non-zero after_seq from before then means events may have
    // been lost with the previous process (or the dropped channel), so it cannot be complete.
    std::uint64_t have = after_seq == 0 ? c.first_seq - 1 : after_seq;
    out.complete = have >= c.first_seq - 1;
    out.last_seq = c.last_seq;
    if (c.last_seq == 0 || have >= c.last_seq)
        return out;

    std::lock_guard history_lock(history_mutex_);
    expire(std::chrono::steady_clock::now());
    publish_stats();
    auto hit = histories_.find(channel);
    if (hit == histories_.end()) {
        out.complete = false; // something after `have` was published and nothing is kept
        return out;
    }
    auto const& kept = hit->second.kept;
    // Everything after `have` is here only if the oldest kept message follows it directly.
    if (kept.front().message.seq > have + 1)
        out.complete = false;
    auto from = std::partition_point(kept.begin(), kept.end(), [have](auto const& e) { return e.message.seq <= have; });
    std::size_t bytes = 0;
    for (auto i = from; i != kept.end() && out.messages.size() < page.max_messages; ++i) {
        auto size = i->message.frame->size();
        if (!out.messages.empty() && bytes + size > page.max_bytes)
            break;
        bytes += size;
        out.messages.push_back(i->message);
    }
    return out;
}

void in_process_broker::sweep(std::chrono::steady_clock::time_point now)
{
    // Only the kept events go. A channel's own entry (its name, its last seq, its subscribers)
    // stays while the process lives: it is small, there is one per device this relay has seen,
    // and forgetting it would make the device's next seq jump, which an app reads as lost events.
    std::lock_guard history_lock(history_mutex_);
    expire(now);
    publish_stats();
}

void in_process_broker::drop_channel(std::string const& channel)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    if (auto it = sh.channels.find(channel); it != sh.channels.end()) {
        raise_ceiling(it->second.last_seq);
        sh.channels.erase(it);
    }
    std::lock_guard history_lock(history_mutex_);
    forget_history(channel);
    publish_stats();
}

std::size_t in_process_broker::subscriber_count(std::string const& channel)
{
    auto& sh = shard_for(channel);
    std::lock_guard lock(sh.mutex);
    auto it = sh.channels.find(channel);
    if (it == sh.channels.end())
        return 0;
    return live_count(it->second.subscribers);
}

history_stats in_process_broker::stats()
{
    history_stats out;
    for (auto& sh : shards_) {
        std::lock_guard lock(sh.mutex);
        out.channels += sh.channels.size();
    }
    std::lock_guard history_lock(history_mutex_);
    out.events = total_events_;
    out.bytes = total_bytes_;
    return out;
}

} // namespace relay::routing
