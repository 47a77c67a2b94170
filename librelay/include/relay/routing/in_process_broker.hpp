#pragma once
/** @file The broker for a single relayd process. */
#include <relay/routing/broker.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace relay::telemetry {
class counter;
class gauge;
class registry;
} // namespace relay::telemetry

namespace relay::routing {

/**
 * What the history for `resume` may hold. Each bound is hard: a device's history never holds
 * more than max_events events nor max_bytes_per_device bytes, and all devices together never
 * more than max_total_bytes. An event counts as its frame plus kept_event_overhead.
 */
struct replay_limits {
    std::size_t max_events = 1000; ///< per device; 0 keeps nothing
    std::chrono::seconds max_age{600};
    std::size_t max_bytes_per_device = std::size_t(4) << 20;
    std::size_t max_total_bytes = std::size_t(256) << 20;
};

/** Why kept events left the history (relay_history_evicted_events_total{reason}). */
enum class eviction_reason : std::uint8_t { age, device_events, device_bytes, total_bytes };

/** The history's size right now. */
struct history_stats {
    std::size_t events = 0;
    std::size_t bytes = 0;    ///< as counted against the bounds
    std::size_t channels = 0; ///< channels known to the broker (with history or subscribers)
};

/**
 * Channels are spread over shards, each with its own mutex, so robots publishing on different
 * devices rarely contend. Within a channel, publish and history hold the shard's mutex, which
 * gives every subscriber the channel's messages in seq order.
 *
 * The kept messages of every channel live apart, under one history mutex (taken after a
 * shard's, never before), because the total bound makes one channel's publish evict another
 * channel's oldest message: globally oldest first, found in O(log channels). Holding it costs a
 * publish a few map operations.
 *
 * seq starts at the relay's start time in microseconds since the epoch rather than at 1, so it
 * keeps increasing across relay restarts: an app resuming with a seq from before a restart sees
 * an honest `complete:false` instead of a silently reused number. A channel dropped with its
 * device starts again above every seq it (or any dropped channel) used, with the same effect.
 *
 * Event ids (publish with an id) are remembered beside the kept events, under the history
 * mutex, and forgotten when their event leaves the history for whatever reason. An event that
 * is not kept at all (max_events 0, or a frame beyond a byte bound) leaves no id behind.
 */
class in_process_broker final : public broker {
public:
    /** `metrics`, when given, receives the history's gauges and eviction counters. */
    explicit in_process_broker(replay_limits limits, telemetry::registry* metrics = nullptr);

    void subscribe(std::string const& channel, std::shared_ptr<subscriber> const& s) override;
    void unsubscribe(std::string const& channel, subscriber const* s) override;
    /** Answers at once, on the caller's thread. */
    void publish(std::string const& channel, std::optional<std::string_view> event_id, frame_around_seq frame,
                 publish_handler done) override;
    void publish_transient(std::string const& channel, std::shared_ptr<std::string const> frame) override;
    /** Answers at once, on the caller's thread. */
    void history(std::string const& channel, std::uint64_t after_seq, history_page page,
                 history_handler done) override;

    // The same, answered by return value: this broker never waits for anything.
    /** Builds an event's frame once its seq is known. */
    using frame_builder = std::function<std::shared_ptr<std::string const>(std::uint64_t seq)>;
    publish_result publish(std::string const& channel, std::optional<std::string_view> event_id,
                           frame_builder const& build);
    /** Publishes an event without an id: never a duplicate. Returns the seq. */
    std::uint64_t publish(std::string const& channel, frame_builder const& build)
    {
        return publish(channel, std::nullopt, build).seq;
    }
    history_result history(std::string const& channel, std::uint64_t after_seq, history_page page);
    history_result history(std::string const& channel, std::uint64_t after_seq)
    {
        return history(channel, after_seq, history_page{});
    }
    void sweep(std::chrono::steady_clock::time_point now) override;
    void drop_channel(std::string const& channel) override;
    std::size_t subscriber_count(std::string const& channel) override;

    /** The seq every channel starts at in this process. */
    std::uint64_t first_seq() const noexcept { return first_seq_; }
    /** How much history is kept right now. */
    history_stats stats();

    /** What a kept event costs beyond its frame: deque slot, shared string, index entry. */
    static constexpr std::size_t kept_event_overhead = 128;

private:
    struct channel_state {
        std::uint64_t first_seq = 0; // where this channel's numbering starts
        std::uint64_t last_seq = 0;  // 0: nothing published yet
        std::vector<std::weak_ptr<subscriber>> subscribers;
    };
    struct shard {
        std::mutex mutex; // guards channels
        std::unordered_map<std::string, channel_state> channels;
    };

    struct kept_event {
        channel_message message;
        std::uint64_t order;   // publish order across all channels
        std::size_t bytes;     // as counted against the bounds
        std::string event_id;  // the sender's id, empty when it gave none
    };
    struct channel_history {
        std::deque<kept_event> kept; // consecutive seqs ending at the channel's last_seq
        std::size_t bytes = 0;
        // The ids of the kept events that had one, and their seqs: added and removed with them.
        std::unordered_map<std::string, std::uint64_t> seq_by_id;
    };
    using history_map = std::unordered_map<std::string, channel_history>;

    shard& shard_for(std::string const& channel);
    channel_state& channel_for(shard& sh, std::string const& channel); // sh.mutex held
    void raise_ceiling(std::uint64_t last_seq);
    static void deliver_all(std::string const& channel, channel_state& c, channel_message const& m);

    // history_mutex_ held for all of these.
    void keep(std::string const& channel, channel_message const& m, std::string_view event_id);
    /** The seq of the kept event `event_id` on `channel`, if it is still kept. */
    std::optional<std::uint64_t> kept_seq(std::string const& channel, std::string_view event_id);
    void expire(std::chrono::steady_clock::time_point now);
    /** Drops the channel's oldest kept event; false when that emptied (and erased) its history. */
    bool pop_oldest(history_map::value_type& h, std::optional<eviction_reason> why);
    void forget_history(std::string const& channel);
    void publish_stats();

    replay_limits limits_;
    std::uint64_t const first_seq_;
    // Above every last_seq of a dropped channel: where a channel of that name starts anew.
    std::atomic<std::uint64_t> forgotten_ceiling_{0};
    std::array<shard, 16> shards_;

    std::mutex history_mutex_; // guards everything below
    history_map histories_;    // only channels that keep something
    // Each channel's oldest kept event by publish order, so the globally oldest is first.
    // Element addresses of an unordered_map are stable, so the values point into histories_.
    std::map<std::uint64_t, history_map::value_type*> oldest_;
    std::uint64_t next_order_ = 0;
    std::size_t total_bytes_ = 0;
    std::size_t total_events_ = 0;

    telemetry::gauge* bytes_gauge_ = nullptr;
    telemetry::gauge* events_gauge_ = nullptr;
    std::array<telemetry::counter*, 4> evicted_{}; // by eviction_reason
};

} // namespace relay::routing
