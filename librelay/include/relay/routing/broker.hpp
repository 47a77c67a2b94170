#pragma once
/** @file
 * The broker carries a device's events to the connections subscribed to that device's channel
 * and keeps the recent ones for `resume`. Sessions never see it directly: they go through the
 * hub. The in-process implementation is in_process_broker; the Redis one (relay/cluster) carries
 * the same calls between several relayd processes (seq and history in Redis).
 *
 * publish() and history() answer through a handler because a shared broker needs a round trip
 * to answer: the handler may run before the call returns (in-process) or later on another
 * thread (Redis), so callers hop back to their own thread in it. Neither ever blocks.
 */
#include <boost/system/error_code.hpp>

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

/**
 * An event's frame with a hole where its seq goes: the frame is `prefix + decimal seq + suffix`
 * (protocol::encode_around_seq). A broker that assigns the seq elsewhere (a Redis script)
 * completes the frame there; either way it is built once, whatever the number of receivers.
 */
struct frame_around_seq {
    std::string prefix;
    std::string suffix;
    std::shared_ptr<std::string const> with_seq(std::uint64_t seq) const;
};

class broker {
public:
    virtual ~broker() = default;

    virtual void subscribe(std::string const& channel, std::shared_ptr<subscriber> const& s) = 0;
    virtual void unsubscribe(std::string const& channel, subscriber const* s) = 0;

    /**
     * publish()'s answer. `ec` is set (relay::errc::unavailable) when the event could not be
     * kept and will not be: the broker gave up on it. A broker that holds events while its
     * backend is away (the Redis broker's backlog) answers only once the event is kept.
     */
    using publish_handler = std::function<void(boost::system::error_code ec, publish_result result)>;

    /**
     * Assigns the channel's next seq, completes the frame, keeps it for history and delivers it
     * to the channel's subscribers (on every node), then calls `done` (when given).
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
    virtual void publish(std::string const& channel, std::optional<std::string_view> event_id,
                         frame_around_seq frame, publish_handler done) = 0;

    /** Delivers a frame that takes no seq and is not kept (presence events). */
    virtual void publish_transient(std::string const& channel, std::shared_ptr<std::string const> frame) = 0;

    /** history()'s answer; `ec` set (relay::errc::unavailable) when the history is out of reach. */
    using history_handler = std::function<void(boost::system::error_code ec, history_result result)>;

    /**
     * The kept messages with seq > after_seq, oldest first, up to `page`. Every message
     * delivered to a subscriber before the call is in the answer unless it left the history
     * (then `complete` is false): the history is written before the delivery.
     */
    virtual void history(std::string const& channel, std::uint64_t after_seq, history_page page,
                         history_handler done) = 0;

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
