#include "cluster/redis_broker.hpp"

#include "cluster/redis_broker_scripts.hpp"
#include "routing/subscriber_list.hpp"

#include <relay/protocol/errc.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace relay::cluster {
namespace {

using routing::channel_message;
using routing::history_page;
using routing::history_result;
using routing::publish_result;
using routing::subscriber;

std::string device_key(std::string_view channel, std::string_view what)
{
    std::string k;
    k.reserve(channel.size() + what.size() + 10);
    k.append("relay:{").append(channel).append("}:").append(what);
    return k;
}

// Messages on the devices' channels; the node's own channel (relay:node:<id>) does not match.
constexpr std::string_view channel_prefix = "relay:{";
constexpr std::string_view channel_suffix = "}:ev";

std::optional<std::uint64_t> parse_seq(std::string_view text)
{
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return v;
}

std::string decimal(std::uint64_t v)
{
    char digits[20];
    auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
    return {digits, end};
}

boost::system::error_code unavailable()
{
    return make_error_code(errc::unavailable);
}

/** A history script's answer, parsed. */
struct kept_history {
    std::uint64_t last_seq = 0; ///< 0: the device has no numbering in Redis
    std::uint64_t epoch = 0;
    std::vector<channel_message> messages;
};

std::optional<kept_history> parse_history(redis_reply const& r)
{
    if (r.type != redis_reply::kind::array || r.elements.size() != 3 ||
        r.elements[2].type != redis_reply::kind::array || r.elements[2].elements.size() % 2 != 0)
        return std::nullopt;
    kept_history out;
    auto last = parse_seq(r.elements[0].str);
    auto epoch = parse_seq(r.elements[1].str);
    if (!last || !epoch)
        return std::nullopt;
    out.last_seq = *last;
    out.epoch = *epoch;
    auto const& entries = r.elements[2].elements;
    auto now = std::chrono::steady_clock::now();
    out.messages.reserve(entries.size() / 2);
    for (std::size_t i = 0; i < entries.size(); i += 2) {
        std::string_view id = entries[i].str;
        auto seq = parse_seq(id.substr(0, id.find('-')));
        if (!seq)
            return std::nullopt;
        out.messages.push_back({*seq, now, std::make_shared<std::string const>(entries[i + 1].str)});
    }
    return out;
}

/**
 * The broker of one node on Redis. Three things live here:
 * - the local subscribers of each channel (channels_mutex_), to which this node delivers what
 *   arrives on the device's Redis channel, in the order it arrives, on the client's thread;
 * - the outbox (outbox_mutex_): every publish (and drop_channel's DEL) in arrival order until
 *   Redis answered it, so that what is held while Redis is away (and what lost its answer with
 *   the connection) is sent again in its order;
 * - the scripts.
 * Nothing here calls the client while holding a mutex that a client callback takes.
 */
class redis_broker final : public routing::broker, public std::enable_shared_from_this<redis_broker> {
public:
    redis_broker(std::shared_ptr<redis_client> client, redis_settings const& settings,
                 std::shared_ptr<telemetry::logger> log, std::shared_ptr<telemetry::registry> metrics)
        : client_(std::move(client)),
          log_(std::move(log)),
          metrics_(std::move(metrics)),
          publish_script_(broker_scripts::publish),
          history_script_(broker_scripts::history),
          max_events_(settings.history_max_events),
          max_age_ms_(decimal(static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::milliseconds>(settings.history_max_age).count()))),
          // The keys outlive the age bound by as much again and a minute, so a device silent for
          // a while keeps its numbering (see docs/protocol.md, "Events on several nodes").
          key_ttl_ms_(decimal(static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::milliseconds>(2 * settings.history_max_age +
                                                                    std::chrono::minutes(1))
                  .count()))),
          backlog_max_(settings.backlog_max_events)
    {
        if (metrics_) {
            published_ = &metrics_->get_counter("relay_redis_published_total",
                                                "Events this node published to Redis (numbered and kept).");
            delivered_ = &metrics_->get_counter(
                "relay_redis_delivered_total",
                "Messages from Redis delivered to this node's subscribers (once per message, whatever the number of subscribers).");
            recovered_ = &metrics_->get_counter(
                "relay_redis_recovered_events_total",
                "Events read back from Redis's history because this node's subscription missed them (down, or not yet in effect).");
            gaps_ = &metrics_->get_counter(
                "relay_redis_gaps_total",
                "Recovery reads that found events gone or a new epoch (apps see the seq jump).");
            backlog_dropped_ = &metrics_->get_counter(
                "relay_redis_backlog_dropped_total",
                "Events refused while Redis was away because the backlog was full (the publisher was answered UNAVAILABLE).");
        }
    }

    ~redis_broker() override
    {
        // Whatever is still waiting for Redis will not be answered by it any more.
        std::deque<std::shared_ptr<outgoing>> left;
        {
            std::lock_guard lock(outbox_mutex_);
            left.swap(outbox_);
        }
        for (auto const& o : left)
            if (o->done)
                o->done(unavailable(), {});
    }

    /** Hooks the broker onto the client: to be called once, before the client starts. */
    void attach()
    {
        std::weak_ptr<redis_broker> weak = weak_from_this();
        client_->on_message(std::string(channel_prefix), [weak](std::string_view channel, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_channel_message(channel, payload);
        });
        client_->on_state([weak](bool up) {
            if (auto self = weak.lock())
                self->on_client_state(up);
        });
    }

    // --- subscriptions -------------------------------------------------------------------------

    void subscribe(std::string const& channel, std::shared_ptr<subscriber> const& s) override
    {
        // subscription_mutex_ orders this node's SUBSCRIBE and UNSUBSCRIBE calls to the client as
        // the local counts changed; it is never taken on the client's thread.
        std::lock_guard order(subscription_mutex_);
        std::uint64_t generation = 0;
        {
            std::lock_guard lock(channels_mutex_);
            auto& c = channels_[channel];
            prune(c);
            for (auto const& w : c.subscribers)
                if (w.lock() == s)
                    return;
            c.subscribers.push_back(s);
            if (c.subscribers.size() > 1)
                return;
            c = local_channel{};
            c.subscribers.push_back(s);
            c.generation = generation = ++generations_;
        }
        client_->subscribe(device_key(channel, "ev"));
        // Where the channel stands now: what a recovery after a reconnect reads on from while
        // nothing was delivered here yet.
        std::weak_ptr<redis_broker> weak = weak_from_this();
        client_->command({"HGET", device_key(channel, "meta"), "s"},
                         [weak, channel, generation](boost::system::error_code ec, redis_reply r) {
                             auto self = weak.lock();
                             if (!self || ec)
                                 return;
                             // nil: no numbering yet, so whatever is kept later came after this.
                             auto seq = r.type == redis_reply::kind::nil ? std::optional<std::uint64_t>(0)
                                                                           : parse_seq(r.str);
                             std::lock_guard lock(self->channels_mutex_);
                             auto it = self->channels_.find(channel);
                             if (seq && it != self->channels_.end() && it->second.generation == generation) {
                                 it->second.position = *seq;
                                 it->second.position_known = true;
                             }
                         });
    }

    void unsubscribe(std::string const& channel, subscriber const* s) override
    {
        std::lock_guard order(subscription_mutex_);
        {
            std::lock_guard lock(channels_mutex_);
            auto it = channels_.find(channel);
            if (it == channels_.end())
                return;
            std::erase_if(it->second.subscribers, [s](auto const& w) {
                auto p = w.lock();
                return !p || p.get() == s;
            });
            if (!it->second.subscribers.empty())
                return;
            channels_.erase(it);
        }
        client_->unsubscribe(device_key(channel, "ev"));
    }

    std::size_t subscriber_count(std::string const& channel) override
    {
        std::lock_guard lock(channels_mutex_);
        auto it = channels_.find(channel);
        if (it == channels_.end())
            return 0;
        return routing::live_count(it->second.subscribers);
    }

    void sweep(std::chrono::steady_clock::time_point) override
    {
        // Ages are Redis's business (the scripts and PEXPIRE); here only the local maps are tidied:
        // channels whose subscribers all went away without unsubscribing.
        std::lock_guard order(subscription_mutex_);
        std::vector<std::string> gone;
        {
            std::lock_guard lock(channels_mutex_);
            for (auto it = channels_.begin(); it != channels_.end();) {
                prune(it->second);
                if (it->second.subscribers.empty()) {
                    gone.push_back(it->first);
                    it = channels_.erase(it);
                } else {
                    ++it;
                }
            }
        }
        for (auto const& channel : gone)
            client_->unsubscribe(device_key(channel, "ev"));
    }

    void drop_channel(std::string const& channel) override
    {
        {
            std::lock_guard order(subscription_mutex_);
            bool had = false;
            {
                std::lock_guard lock(channels_mutex_);
                had = channels_.erase(channel) > 0;
            }
            if (had)
                client_->unsubscribe(device_key(channel, "ev"));
        }
        // The keys go in the outbox's order: after the device's events still waiting there (a
        // device created again with the same id must not find them), and not before Redis is back.
        auto o = std::make_shared<outgoing>();
        o->channel = channel;
        o->drop = true;
        {
            std::lock_guard lock(outbox_mutex_);
            outbox_.push_back(std::move(o));
            ++unsent_;
        }
        flush();
    }

    // --- publishing ----------------------------------------------------------------------------

    void publish(std::string const& channel, std::optional<std::string_view> event_id, routing::frame_around_seq frame,
                 publish_handler done) override
    {
        auto o = std::make_shared<outgoing>();
        o->channel = channel;
        o->event_id = event_id ? std::string(*event_id) : std::string();
        o->frame = std::move(frame);
        o->done = std::move(done);
        {
            std::lock_guard lock(outbox_mutex_);
            if (unsent_ >= backlog_max_ && !client_->up()) {
                // The backlog is full: this one is refused (a robot re-sends an event with an id).
                if (backlog_dropped_)
                    backlog_dropped_->inc();
                if (!o->done)
                    return;
            } else {
                outbox_.push_back(o);
                ++unsent_;
                o = nullptr;
            }
        }
        if (o) {
            o->done(unavailable(), {});
            return;
        }
        flush();
    }

    void publish_transient(std::string const& channel, std::shared_ptr<std::string const> frame) override
    {
        if (client_->up()) {
            std::string payload;
            payload.reserve(frame->size() + 2);
            payload.append("0 ").append(*frame);
            client_->command({"PUBLISH", device_key(channel, "ev"), std::move(payload)},
                             [](boost::system::error_code, redis_reply) {});
            return;
        }
        // Redis is away: this node's subscribers hear it, the other nodes' do not.
        std::lock_guard lock(channels_mutex_);
        auto it = channels_.find(channel);
        if (it != channels_.end())
            deliver_all(channel, it->second, channel_message{0, std::chrono::steady_clock::now(), std::move(frame)});
    }

    // --- history -------------------------------------------------------------------------------

    void history(std::string const& channel, std::uint64_t after_seq, history_page page,
                 history_handler done) override
    {
        if (!client_->up()) {
            done(unavailable(), {});
            return;
        }
        auto count = std::max<std::size_t>(1, std::min(page.max_messages, std::max<std::size_t>(1, max_events_)));
        read_history(channel, after_seq, count,
                     [after_seq, page, done = std::move(done)](boost::system::error_code ec,
                                                               std::optional<kept_history> kept) {
                         if (ec || !kept) {
                             done(unavailable(), {});
                             return;
                         }
                         done({}, answer(after_seq, page, std::move(*kept)));
                     });
    }

private:
    struct local_channel {
        routing::subscriber_list subscribers;
        std::uint64_t generation = 0; ///< a new one each time the channel gets its first subscriber
        std::uint64_t delivered = 0;  ///< the newest seq delivered here
        std::uint64_t position = 0;   ///< the channel's last seq when it was first subscribed here
        bool position_known = false;  ///< Redis answered `position` (0: the device had no numbering)
        bool recovering = false;      ///< live messages wait in `held` (Redis away, or a recovery read)
        bool reading = false;         ///< a recovery read is in flight
        std::vector<channel_message> held;
    };

    /** A publish until Redis answered it. */
    struct outgoing {
        std::string channel;
        std::string event_id; ///< empty: none
        routing::frame_around_seq frame;
        publish_handler done;
        bool drop = false; ///< not an event: the channel's keys are deleted (drop_channel)
        bool sent = false;
        int attempts = 0;
    };

    static void prune(local_channel& c)
    {
        std::erase_if(c.subscribers, [](auto const& w) { return w.expired(); });
    }

    // channels_mutex_ held. Delivery only queues and never calls back into the broker (as with
    // in_process_broker), so it is done under the mutex: an unsubscribe() that returned is final.
    static void deliver_all(std::string const& channel, local_channel& c, channel_message const& m)
    {
        routing::deliver_to(c.subscribers, channel, m);
    }

    // channels_mutex_ held. Numbered messages at or below what was delivered are repeats.
    void deliver_in_order(std::string const& channel, local_channel& c, channel_message const& m)
    {
        if (m.seq != 0) {
            if (m.seq <= c.delivered)
                return;
            c.delivered = m.seq;
        }
        if (delivered_)
            delivered_->inc();
        deliver_all(channel, c, m);
    }

    /** A message on a device's channel (client thread). */
    void on_channel_message(std::string_view redis_channel, std::string_view payload)
    {
        if (!redis_channel.starts_with(channel_prefix) || !redis_channel.ends_with(channel_suffix))
            return;
        std::string channel(redis_channel.substr(channel_prefix.size(),
                                                 redis_channel.size() - channel_prefix.size() - channel_suffix.size()));
        auto space = payload.find(' ');
        auto seq = parse_seq(payload.substr(0, space));
        if (space == std::string_view::npos || !seq) {
            if (log_)
                log_->warn("redis_message_unreadable", {{"channel", redis_channel}});
            return;
        }
        channel_message m{*seq, std::chrono::steady_clock::now(),
                          std::make_shared<std::string const>(payload.substr(space + 1))};
        std::optional<recovery_read> read;
        {
            std::lock_guard lock(channels_mutex_);
            auto it = channels_.find(channel);
            if (it == channels_.end())
                return; // no longer subscribed here
            auto& c = it->second;
            // A numbered message beyond the next one: this node missed some (its subscription was
            // not yet in effect, or was down) or a new epoch began. Read what is kept first.
            auto known = c.delivered != 0 ? c.delivered : c.position;
            if (!c.recovering && m.seq != 0 && (c.delivered != 0 || c.position_known) && m.seq > known + 1) {
                c.recovering = true;
                read = begin_recovery(channel, c);
            }
            if (c.recovering)
                c.held.push_back(std::move(m));
            else
                deliver_in_order(channel, c, m);
        }
        if (read)
            start_reads({std::move(*read)});
        // Events held while Redis was away go out on the news that it is up (on_state) and, should
        // that news not come, with the first message it delivers.
        if (unsent_waiting_.load(std::memory_order_relaxed))
            flush();
    }

    /**
     * The client is down (client thread): every channel holds its live messages from now on, so
     * that none of them overtakes what the recovery reads once the client is up again (messages
     * may arrive on the new subscription before the news that it is up).
     */
    void on_client_state(bool up)
    {
        if (!up) {
            std::lock_guard lock(channels_mutex_);
            for (auto& [channel, c] : channels_)
                c.recovering = true;
            return;
        }
        flush();
        recover();
    }

    /** A recovery read to send: from `after` on `channel` as it was at `generation`. */
    struct recovery_read {
        std::string channel;
        std::uint64_t generation;
        std::uint64_t after;
    };

    /** channels_mutex_ held, c.recovering set. The read to send, if any is needed and none is out. */
    std::optional<recovery_read> begin_recovery(std::string const& channel, local_channel& c)
    {
        if (c.reading)
            return std::nullopt;
        if (c.delivered == 0 && !c.position_known) {
            // Where it stood is unknown here (subscribed while Redis was away): the apps' own
            // resume covers it.
            release_held(channel, c);
            return std::nullopt;
        }
        c.reading = true;
        return recovery_read{channel, c.generation, c.delivered != 0 ? c.delivered : c.position};
    }

    /** channels_mutex_ held. Live messages held meanwhile follow, without repeats. */
    void release_held(std::string const& channel, local_channel& c)
    {
        c.recovering = false;
        auto held = std::move(c.held);
        c.held.clear();
        for (auto const& m : held)
            deliver_in_order(channel, c, m);
    }

    /**
     * Reads what each locally subscribed channel missed while the subscription was down and
     * delivers it before the channel's newer live messages. Every read is sent at once (the
     * client pipelines them), not one round trip after another.
     */
    void recover()
    {
        std::vector<recovery_read> reads;
        {
            std::lock_guard lock(channels_mutex_);
            for (auto& [channel, c] : channels_)
                if (c.recovering)
                    if (auto r = begin_recovery(channel, c))
                        reads.push_back(std::move(*r));
        }
        start_reads(std::move(reads));
    }

    void start_reads(std::vector<recovery_read> reads)
    {
        std::weak_ptr<redis_broker> weak = weak_from_this();
        for (auto& r : reads)
            read_history(r.channel, r.after, std::max<std::size_t>(1, max_events_),
                         [weak, r](boost::system::error_code ec, std::optional<kept_history> kept) {
                             if (auto self = weak.lock())
                                 self->recovered(r, ec ? std::nullopt : std::move(kept));
                         });
    }

    void recovered(recovery_read const& r, std::optional<kept_history> kept)
    {
        std::lock_guard lock(channels_mutex_);
        auto it = channels_.find(r.channel);
        if (it == channels_.end() || it->second.generation != r.generation)
            return;
        auto& c = it->second;
        c.reading = false;
        // Down again: the next recovery reads from the same place; live messages keep waiting.
        if (!kept && !client_->up())
            return;
        // What was read and what was held meanwhile, merged by seq: each seq once, in order. The
        // held ones may go back further than the read (the stream was trimmed meanwhile).
        static std::vector<channel_message> const none;
        auto const& read = kept ? kept->messages : none;
        // Pub/sub delivers a channel's messages in publish (seq) order: from the first one held,
        // every later seq reaches this node live. The read is only for what came before it; its
        // newer entries may be ahead of live messages still on their way, and delivering them
        // first would make those look like repeats.
        std::uint64_t first_held = UINT64_MAX;
        for (auto const& m : c.held)
            if (m.seq != 0) {
                first_held = m.seq;
                break;
            }
        std::size_t read_end = 0;
        while (read_end < read.size() && read[read_end].seq < first_held)
            ++read_end;
        std::size_t next_read = 0;
        std::uint64_t expected = r.after != 0 ? r.after + 1 : kept ? kept->epoch : 0;
        bool gap = false;
        std::uint64_t count = 0;
        auto numbered = [&](channel_message const& m, bool from_history) {
            if (m.seq <= c.delivered)
                return;
            // A seq beyond the next one is a gap: events gone (count, age) or a new epoch; the
            // apps see the jump, the contract's signal to resume (which then says complete:false).
            gap = gap || (expected != 0 && m.seq != expected);
            expected = m.seq + 1;
            count += from_history ? 1 : 0;
            deliver_in_order(r.channel, c, m);
        };
        c.recovering = false;
        auto held = std::move(c.held);
        c.held.clear();
        for (auto const& m : held) {
            if (m.seq == 0) {
                deliver_in_order(r.channel, c, m);
                continue;
            }
            while (next_read < read_end && read[next_read].seq < m.seq)
                numbered(read[next_read++], true);
            numbered(m, false);
        }
        while (next_read < read_end)
            numbered(read[next_read++], true);
        if (gap && gaps_)
            gaps_->inc();
        if (recovered_)
            recovered_->inc(count);
    }

    using history_read = std::function<void(boost::system::error_code, std::optional<kept_history>)>;

    void read_history(std::string const& channel, std::uint64_t after_seq, std::size_t count, history_read done)
    {
        // Stream ids are <seq>-0: reading from (after_seq + 1)-0 starts right after after_seq.
        std::string from = after_seq == 0 ? std::string("-")
                                          : decimal(std::min(after_seq, UINT64_MAX - 1) + 1) + "-0";
        client_->eval(history_script_, {device_key(channel, "meta"), device_key(channel, "hist")},
                      {std::move(from), decimal(count), max_age_ms_},
                      [log = log_, channel, done = std::move(done)](boost::system::error_code ec, redis_reply r) {
                          if (ec) {
                              done(ec, std::nullopt);
                              return;
                          }
                          auto kept = parse_history(r);
                          if (!kept && log)
                              log->warn("redis_history_failed", {{"device_id", channel}, {"error", r.str}});
                          done({}, std::move(kept));
                      });
    }

    /** history()'s answer from what the script read: the in-process broker's rules. */
    static history_result answer(std::uint64_t after_seq, history_page page, kept_history kept)
    {
        history_result out;
        out.last_seq = kept.last_seq;
        if (kept.last_seq == 0) {
            // Nothing known (never published, dropped, expired, or lost by Redis): an app that
            // saw something of this device may have missed events that are gone now.
            out.complete = after_seq == 0;
            return out;
        }
        // after_seq 0 means "everything you have"; a seq from before this epoch (or above its
        // last seq: another epoch's) may have missed events that are gone with it.
        std::uint64_t have = after_seq == 0 ? kept.epoch - 1 : after_seq;
        out.complete = have >= kept.epoch - 1 && have <= kept.last_seq;
        if (have >= kept.last_seq)
            return out;
        if (kept.messages.empty() || kept.messages.front().seq != have + 1)
            out.complete = false;
        std::size_t bytes = 0;
        for (auto& m : kept.messages) {
            if (out.messages.size() >= page.max_messages)
                break;
            if (!out.messages.empty() && bytes + m.frame->size() > page.max_bytes)
                break;
            bytes += m.frame->size();
            out.messages.push_back(std::move(m));
        }
        return out;
    }

    /**
     * Sends the outbox's unsent publishes, in order, while the client is up. One caller at a
     * time sends (flushing_), so the order of the outbox is the order on the connection; the
     * others leave their events to it.
     */
    void flush()
    {
        for (;;) {
            std::vector<std::shared_ptr<outgoing>> batch;
            {
                std::lock_guard lock(outbox_mutex_);
                unsent_waiting_.store(unsent_ != 0, std::memory_order_relaxed);
                if (flushing_ || unsent_ == 0 || !client_->up())
                    return;
                flushing_ = true;
                for (auto const& o : outbox_)
                    if (!o->sent) {
                        o->sent = true;
                        batch.push_back(o);
                    }
                unsent_ = 0;
            }
            for (auto const& o : batch)
                send(o);
            std::lock_guard lock(outbox_mutex_);
            flushing_ = false;
        }
    }

    void send(std::shared_ptr<outgoing> const& o)
    {
        std::weak_ptr<redis_broker> weak = weak_from_this();
        auto answered = [weak, o](boost::system::error_code ec, redis_reply r) {
            if (auto self = weak.lock())
                self->published(o, ec, r);
        };
        if (o->drop) {
            client_->command({"DEL", device_key(o->channel, "meta"), device_key(o->channel, "hist"),
                              device_key(o->channel, "ids")},
                             std::move(answered));
            return;
        }
        client_->eval(publish_script_,
                      {device_key(o->channel, "meta"), device_key(o->channel, "hist"), device_key(o->channel, "ids")},
                      {o->frame.prefix, o->frame.suffix, o->event_id, decimal(max_events_), max_age_ms_, key_ttl_ms_,
                       device_key(o->channel, "ev")},
                      std::move(answered));
    }

    /** Redis answered a publish, or the client gave up on it (client thread). */
    void published(std::shared_ptr<outgoing> const& o, boost::system::error_code ec, redis_reply const& r)
    {
        // Lost with the connection (it may or may not have run): sent again once the client is
        // up, in its place. An event with an id is then recognised if it had run; one without
        // may be published twice. A few attempts at most, so a command Redis keeps refusing
        // to answer cannot hold its followers forever.
        constexpr int max_attempts = 5;
        if (ec && ++o->attempts < max_attempts) {
            {
                std::lock_guard lock(outbox_mutex_);
                o->sent = false;
                ++unsent_;
            }
            flush();
            return;
        }
        {
            std::lock_guard lock(outbox_mutex_);
            auto it = std::find(outbox_.begin(), outbox_.end(), o);
            if (it == outbox_.end())
                return; // answered by the destructor
            outbox_.erase(it);
        }
        if (o->drop) {
            if ((ec || r.is_error()) && log_)
                log_->warn("redis_drop_channel_failed", {{"device_id", o->channel}, {"error", ec ? ec.message() : r.str}});
            return;
        }
        publish_result result;
        bool ok = !ec && r.type == redis_reply::kind::array && r.elements.size() >= 2;
        if (ok) {
            auto seq = parse_seq(r.elements[0].str);
            ok = seq.has_value();
            result.seq = seq.value_or(0);
            result.duplicate = r.elements[1].integer == 1;
        }
        if (!ok) {
            if (log_)
                log_->warn("redis_publish_failed",
                           {{"device_id", o->channel}, {"error", ec ? ec.message() : r.str}});
            if (o->done)
                o->done(unavailable(), {});
            return;
        }
        if (!result.duplicate && published_)
            published_->inc();
        if (o->done)
            o->done({}, result);
    }

    std::shared_ptr<redis_client> client_;
    std::shared_ptr<telemetry::logger> log_;
    std::shared_ptr<telemetry::registry> metrics_;
    redis_script const publish_script_;
    redis_script const history_script_;
    std::size_t const max_events_;
    std::string const max_age_ms_;
    std::string const key_ttl_ms_;
    std::size_t const backlog_max_;

    std::mutex subscription_mutex_; // orders subscribe/unsubscribe calls to the client
    std::mutex channels_mutex_;     // guards channels_ and generations_
    std::unordered_map<std::string, local_channel> channels_;
    std::uint64_t generations_ = 0;

    std::mutex outbox_mutex_; // guards outbox_, unsent_, flushing_ and the entries' `sent`
    std::deque<std::shared_ptr<outgoing>> outbox_;
    std::size_t unsent_ = 0;
    bool flushing_ = false;
    std::atomic<bool> unsent_waiting_{false}; // unsent_ != 0, read without the mutex

    telemetry::counter* published_ = nullptr;
    telemetry::counter* delivered_ = nullptr;
    telemetry::counter* recovered_ = nullptr;
    telemetry::counter* gaps_ = nullptr;
    telemetry::counter* backlog_dropped_ = nullptr;
};

} // namespace

std::shared_ptr<routing::broker> make_redis_broker(std::shared_ptr<redis_client> client, redis_settings const& settings,
                                                   std::shared_ptr<telemetry::logger> log,
                                                   std::shared_ptr<telemetry::registry> metrics)
{
    auto broker = std::make_shared<redis_broker>(std::move(client), settings, std::move(log), std::move(metrics));
    broker->attach();
    return broker;
}

} // namespace relay::cluster
