#pragma once
/** @file
 * The broker carries a device's events to the connections subscribed to that device's channel
 * and keeps the recent ones for `resume`. Sessions never see it directly: they go through the
 * hub. The in-process implementation is in_process_broker; a Redis-backed one can carry the
 * same calls between several relayd processes (seq from INCR, history from a stream).
 */
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::routing {

/** One message on a channel: the serialized frame, shared by every receiver. */
struct channel_message {
    std::uint64_t seq = 0; ///< 0 for transient messages (presence), which are not kept
    std::chrono::steady_clock::time_point at{};
    std::shared_ptr<std::string const> frame;
};

/** A receiver of channel messages. deliver() is called from any thread and must not block. */
class subscriber {
public:
    virtual ~subscriber() = default;
    virtual void deliver(std::string const& channel, channel_message const& message) = 0;
};

/** What history() found. */
struct history_result {
    std::vector<channel_message> messages; ///< seq > after_seq, oldest first, at most one page
    std::uint64_t last_seq = 0;            ///< the channel's newest seq (0 when none yet)
    bool complete = true;                  ///< false when some seq > after_seq is gone
};

/**
 * How much one history() call returns, so a long replay is read a page at a time and paced
 * with the receiver's socket. A page holds at least one message when any follows after_seq.
 */
struct history_page {
    std::size_t max_messages = SIZE_MAX;
    std::size_t max_bytes = SIZE_MAX; ///< frame bytes
};

/** What publish() did. */
struct publish_result {
    std::uint64_t seq = 0; ///< the event's seq: new, or the kept one when `duplicate`
    bool duplicate = false; ///< the event id was already kept; nothing was delivered or kept now
};

class broker {
public:
    virtual ~broker() = default;

    virtual void subscribe(std::string const& channel, std::shared_ptr<subscriber> const& s) = 0;
    virtual void unsubscribe(std::string const& channel, subscriber const* s) = 0;

    /** Builds an event's frame once its seq is known. */
    using frame_builder = std::function<std::shared_ptr<std::string const>(std::uint64_t seq)>;

    /**
     * Assigns the channel's next seq, asks `build(seq)` for the frame (built once, whatever the
     * number of receivers), keeps it for history and delivers it.
     *
     * `event_id`, when given, is the sender's id for the event (a robot's `event.id`). While an
     * event with that id on this channel is still kept for history, publishing the id again
     * builds, keeps and delivers nothing: the answer is the kept event's seq with `duplicate`
     * set. The broker remembers exactly the ids of the events it still keeps, so the window in
     * which a re-sent event is recognised is the history's own (count, bytes and age bounds),
     * and the memory it costs goes with it. A broker shared by several nodes does the check in
     * the same atomic step that assigns the seq, so a robot re-sending to another node after its
     * first node died is recognised too.
     */
    virtual publish_result publish(std::string const& channel, std::optional<std::string_view> event_id,
                                   frame_builder const& build) = 0;
    /** Publishes an event without an id: never a duplicate. Returns the seq. */
    std::uint64_t publish(std::string const& channel, frame_builder const& build)
    {
        return publish(channel, std::nullopt, build).seq;
    }

    /** Delivers a frame that takes no seq and is not kept (presence events). */
    virtual void publish_transient(std::string const& channel, std::shared_ptr<std::string const> frame) = 0;

    /** The kept messages with seq > after_seq, oldest first, up to `page`. */
    virtual history_result history(std::string const& channel, std::uint64_t after_seq, history_page page) = 0;
    /** All kept messages with seq > after_seq. */
    history_result history(std::string const& channel, std::uint64_t after_seq)
    {
        return history(channel, after_seq, history_page{});
    }

    /**
     * Drops kept messages older than the age limit, even when nothing is published. The server
     * calls it periodically.
     */
    virtual void sweep(std::chrono::steady_clock::time_point now) = 0;

    /** Forgets a channel (device deleted): its subscribers and its history. */
    virtual void drop_channel(std::string const& channel) = 0;

    /** How many subscribers a channel has (for tests and stats). */
    virtual std::size_t subscriber_count(std::string const& channel) = 0;
};

} // namespace relay::routing
