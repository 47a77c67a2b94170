#pragma once
/** @file The broker for a single relayd process. */
#include <relay/routing/broker.hpp>

#include <array>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace relay::routing {

struct replay_limits {
    std::size_t max_events = 1000;
    std::chrono::seconds max_age{600};
};

/**
 * Channels are spread over shards, each with its own mutex, so robots publishing on different
 * devices rarely contend. Within a channel, publish and history hold the shard's mutex, which
 * gives every subscriber the channel's messages in seq order.
 *
 * seq starts at the relay's start time in microseconds since the epoch rather than at 1, so it
 * keeps increasing across relay restarts: an app resuming with a seq from before a restart sees
 * an honest `complete:false` instead of a silently reused number.
 */
class in_process_broker final : public broker {
public:
    explicit in_process_broker(replay_limits limits);

    void subscribe(std::string const& channel, std::shared_ptr<subscriber> const& s) override;
    void unsubscribe(std::string const& channel, subscriber const* s) override;
    std::uint64_t publish(std::string const& channel,
                          std::function<std::shared_ptr<std::string const>(std::uint64_t)> const& build) override;
    void publish_transient(std::string const& channel, std::shared_ptr<std::string const> frame) override;
    history_result history(std::string const& channel, std::uint64_t after_seq) override;
    void drop_channel(std::string const& channel) override;
    std::size_t subscriber_count(std::string const& channel) override;

    /** The seq every channel starts at in this process. */
    std::uint64_t first_seq() const noexcept { return first_seq_; }

private:
    struct channel_state {
        std::uint64_t last_seq = 0;
        std::deque<channel_message> kept;
        std::vector<std::weak_ptr<subscriber>> subscribers;
    };
    struct shard {
        std::mutex mutex; // guards channels
        std::unordered_map<std::string, channel_state> channels;
    };
    shard& shard_for(std::string const& channel);
    void prune(channel_state& c, std::chrono::steady_clock::time_point now) const;
    static void deliver_all(std::string const& channel, channel_state& c, channel_message const& m);

    replay_limits limits_;
    std::uint64_t const first_seq_;
    std::array<shard, 16> shards_;
};

} // namespace relay::routing
