#include "cluster/redis_client.hpp"

#include "cluster/hiredis_asio.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/protocol/errc.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

namespace relay::cluster {
namespace {

using clock = std::chrono::steady_clock;

/** Channels per SUBSCRIBE when resubscribing after a reconnect: one command per channel would
 * be thousands of round trips, one for all an unbounded command. */
constexpr std::size_t subscribe_batch = 512;

/** The probe's payload starts with a NUL byte, which no relay message does. */
constexpr std::string_view probe_prefix{"\0probe ", 7};

/** Where a connection is: connecting (TCP), handshake (AUTH, SELECT, PING or SUBSCRIBE sent),
 * up (answered), down (waiting to reconnect). */
enum class phase { down, connecting, handshake, up };

double seconds_since(clock::time_point start)
{
    return std::chrono::duration<double>(clock::now() - start).count();
}

} // namespace

redis_script::redis_script(std::string source_text) : source(std::move(source_text)), sha1(auth::sha1_hex(source)) {}

/**
 * Threads: everything below runs on `io`'s one thread, except where noted (atomics, `health`
 * under `health_mutex`, and `message_handlers`/`state_handlers`, set before start()). Handlers
 * capture `this`: the io_context belongs to this object and has stopped running (stop() joins
 * its thread) before anything here is destroyed.
 */
struct redis_client::impl {
    /** One of the two connections and its reconnecting. */
    struct link {
        link(boost::asio::io_context& io, std::string_view name_, telemetry::registry* metrics)
            : name(name_), retry(io),
              reconnects(metrics ? &metrics->get_counter("relay_redis_reconnects_total",
                                                         "Connections to Redis made again after one was lost or refused",
                                                         {{"connection", std::string(name_)}})
                                 : nullptr)
        {
        }
        std::string name; ///< "command" or "subscriber", for logs and metrics
        std::shared_ptr<hiredis_connection> conn;
        phase state = phase::down;
        std::chrono::milliseconds delay{0}; ///< before the next reconnect
        boost::asio::steady_timer retry;
        std::string why; ///< why it is not up
        bool ever_connected = false;
        telemetry::counter* reconnects;
    };

    impl(redis_settings const& s, std::shared_ptr<telemetry::logger> l, std::shared_ptr<telemetry::registry> m)
        : settings(s), log(l ? std::move(l) : std::make_shared<telemetry::logger>()), metrics(std::move(m)),
          own_channel("relay:node:" + s.node_id),
          address(s.where.host + ":" + std::to_string(s.where.port)), work(io.get_executor()),
          command_link(io, "command", metrics.get()), subscriber_link(io, "subscriber", metrics.get()),
          command_timer(io), probe_timer(io), random(std::random_device{}())
    {
        if (metrics) {
            duration = &metrics->get_histogram("relay_redis_command_duration_seconds",
                                               "Round-trip time of Redis commands");
            up_gauge = &metrics->get_gauge("relay_redis_up", "1 while both Redis connections are up");
            subscriptions = &metrics->get_gauge("relay_redis_subscriptions",
                                                "Channels the subscriber connection is subscribed to");
            received = &metrics->get_counter("relay_redis_messages_received_total",
                                             "Pub/sub messages received from Redis (probes included)");
            for (std::size_t i = 0; i < failures.size(); ++i)
                failures[i] = &metrics->get_counter("relay_redis_commands_failed_total",
                                                    "Redis commands answered unavailable, by reason",
                                                    {{"reason", std::string(failure_names[i])}});
        }
        wanted.insert(own_channel);
    }

    // --- set at construction or before start() ----------------------------------------------
    redis_settings settings;
    std::shared_ptr<telemetry::logger> log;
    std::shared_ptr<telemetry::registry> metrics;
    std::string own_channel;
    std::string address; ///< host:port, for messages (never the password)
    std::vector<std::pair<std::string, message_handler>> message_handlers;
    std::vector<std::function<void(bool)>> state_handlers; // the broker's and the cluster part's

    telemetry::histogram* duration = nullptr;
    telemetry::gauge* up_gauge = nullptr;
    telemetry::gauge* subscriptions = nullptr;
    telemetry::counter* received = nullptr;

    // --- any thread --------------------------------------------------------------------------
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
    std::thread thread;
    std::atomic<bool> started{false};
    std::atomic<bool> stopped{false};
    /** Held while checking `stopped` and posting, and while stop() sets it: nothing is posted
     * after the thread may have ended (it would never be answered). */
    std::mutex stop_mutex;
    std::atomic<bool> up{false};
    mutable std::mutex health_mutex;
    std::string health = "not started"; // guarded by health_mutex

    // --- io thread only -----------------------------------------------------------------------
    link command_link;
    link subscriber_link;
    boost::asio::steady_timer command_timer;
    bool command_timer_armed = false;
    bool timing_out = false; ///< the command connection is being dropped for a command timeout
    boost::asio::steady_timer probe_timer;
    std::uint64_t probe_sent_number = 0;
    std::uint64_t probe_waiting = 0; ///< number of the probe not seen yet; 0: none
    clock::time_point probe_sent_at;
    std::map<std::string, std::string> scripts; ///< every script eval() was given, by SHA1
    std::set<std::string> loaded;               ///< SHA1s Redis holds for the command connection
    std::set<std::string> wanted;     ///< channels to be subscribed (the own channel always)
    std::set<std::string> unconfirmed; ///< of the subscriber's handshake, not confirmed yet
    bool stopping = false;
    std::mt19937 random;

    /** Why a command was answered unavailable: the `reason` label of its failure counter. */
    enum class failure : std::uint8_t { down, overloaded, timeout, connection_lost };
    static constexpr std::array<std::string_view, 4> failure_names{"down", "overloaded", "timeout",
                                                                   "connection_lost"};
    std::array<telemetry::counter*, 4> failures{};

    void count_failure(failure reason)
    {
        if (auto* c = failures[static_cast<std::size_t>(reason)])
            c->inc();
    }

    void set_health(std::string text)
    {
        std::lock_guard lock(health_mutex);
        health = std::move(text);
    }

    /** Runs a caller's handler; an exception must not unwind through hiredis's C frames. */
    template <class F> void deliver(F&& f)
    {
        try {
            f();
        } catch (std::exception const& e) {
            log->error("redis_handler_failed", {{"error", std::string_view(e.what())}});
        }
    }

    /** Posts `f` to the client's thread unless stop() was called. */
    template <class F> void post_unless_stopped(F&& f)
    {
        std::lock_guard lock(stop_mutex);
        if (!stopped)
            boost::asio::post(io, std::forward<F>(f));
    }

    /** Answers `done` with unavailable, posted (never inside the caller's call). */
    void fail(reply_handler done, failure reason)
    {
        count_failure(reason);
        boost::asio::post(io, [this, done = std::move(done)] {
            deliver([&] { done(make_error_code(errc::unavailable), {}); });
        });
    }

    // --- connections --------------------------------------------------------------------------

    void connect(link& l)
    {
        if (stopping)
            return;
        if (l.ever_connected && l.reconnects)
            l.reconnects->inc();
        l.ever_connected = true;
        // A link makes its next connection only once the last one has reported `closed`: the
        // callbacks always concern the link's current connection.
        hiredis_connection::callbacks handlers;
        handlers.connected = [this, &l] { on_connected(l); };
        handlers.closed = [this, &l](std::string why) { on_closed(l, why); };
        if (&l == &subscriber_link)
            handlers.pushed = [this](redisReply const& r) { on_push(r); };
        l.conn = std::make_shared<hiredis_connection>(io, std::move(handlers));
        l.state = phase::connecting;
        l.conn->connect(settings.where.host, settings.where.port, settings.connect_timeout);
    }

    /** TCP is up: AUTH and SELECT first, then a PING (command) or the subscriptions. */
    void on_connected(link& l)
    {
        l.state = phase::handshake;
        auto conn = l.conn;
        auto step = [this, &l, conn](std::string what) {
            return [this, &l, conn, what = std::move(what)](redisReply const* r) {
                if (!r || conn != l.conn)
                    return; // the connection ended: `closed` says why
                if (r->type == REDIS_REPLY_ERROR) {
                    auto const error = std::string(r->str, r->len);
                    conn->close(what + " failed: " + error);
                    return;
                }
                if (what == "PING")
                    handshake_done(l);
            };
        };
        if (!settings.where.password.empty())
            conn->send({"AUTH", settings.where.password}, step("AUTH"));
        if (settings.where.db != 0)
            conn->send({"SELECT", std::to_string(settings.where.db)}, step("SELECT"));
        if (&l == &command_link) {
            // The scripts again (a restarted Redis has none): an EVALSHA answered NOSCRIPT and
            // sent again would run after commands sent behind it.
            loaded.clear();
            for (auto const& [sha1, source] : scripts)
                conn->send({"SCRIPT", "LOAD", source}, [this, &l, conn, sha1 = sha1](redisReply const* r) {
                    if (!r || conn != l.conn)
                        return;
                    if (r->type == REDIS_REPLY_ERROR)
                        conn->close("SCRIPT LOAD failed: " + std::string(r->str, r->len));
                    else
                        loaded.insert(sha1);
                });
            conn->send({"PING"}, step("PING"));
            return;
        }
        // Every wanted channel again, in batches; up once each is confirmed.
        unconfirmed = wanted;
        std::vector<std::string> batch{"SUBSCRIBE"};
        for (auto const& channel : wanted) {
            batch.push_back(channel);
            if (batch.size() > subscribe_batch) {
                conn->subscription(batch);
                batch.resize(1);
            }
        }
        if (batch.size() > 1)
            conn->subscription(batch);
    }

    void handshake_done(link& l)
    {
        l.conn->ready();
        l.state = phase::up;
        l.delay = std::chrono::milliseconds(0);
        l.why.clear();
        log->info("redis_connected", {{"connection", std::string_view(l.name)},
                                      {"server", std::string_view(address)},
                                      {"db", settings.where.db}});
        if (&l == &subscriber_link)
            probe_waiting = 0;
        update_state();
    }

    void on_closed(link& l, std::string const& why)
    {
        auto const was_up = l.state == phase::up;
        l.state = phase::down;
        l.conn.reset();
        l.why = why;
        if (&l == &subscriber_link) {
            unconfirmed.clear();
            probe_waiting = 0;
            if (subscriptions)
                subscriptions->set(0);
        } else {
            timing_out = false;
        }
        if (was_up)
            log->warn("redis_disconnected", {{"connection", std::string_view(l.name)},
                                             {"server", std::string_view(address)},
                                             {"reason", std::string_view(why)}});
        else
            log->debug("redis_connect_failed", {{"connection", std::string_view(l.name)},
                                                {"server", std::string_view(address)},
                                                {"reason", std::string_view(why)}});
        update_state();
        if (stopping)
            return;
        // Back-off doubling from reconnect_min to reconnect_max, each wait drawn from its upper
        // half so that the nodes of a cluster do not all come back at the same instant.
        l.delay = l.delay.count() == 0 ? std::max(settings.reconnect_min, std::chrono::milliseconds(1))
                                       : std::min(l.delay * 2, settings.reconnect_max);
        auto const half = l.delay.count() / 2;
        std::uniform_int_distribution<std::int64_t> pick(l.delay.count() - half, l.delay.count());
        l.retry.expires_after(std::chrono::milliseconds(pick(random)));
        l.retry.async_wait([this, &l](boost::system::error_code ec) {
            if (!ec)
                connect(l);
        });
    }

    /** Up is both connections answering; tells the state handler on each change. */
    void update_state()
    {
        auto const now_up = !stopping && command_link.state == phase::up && subscriber_link.state == phase::up;
        if (stopping) {
            // stop() said so already.
        } else if (now_up) {
            set_health("");
        } else {
            auto const& why = command_link.state != phase::up ? command_link.why : subscriber_link.why;
            auto const& which = command_link.state != phase::up ? command_link : subscriber_link;
            set_health((why.empty() ? std::string("connecting") : which.name + " connection: " + why) + " (" +
                       address + ")");
        }
        if (now_up == up.load())
            return;
        up = now_up;
        if (up_gauge)
            up_gauge->set(now_up ? 1 : 0);
        // In line, like replies and messages: a message that follows the last subscription's
        // confirmation reaches its handler after on_state(true).
        for (auto const& handler : state_handlers)
            deliver([&] { handler(now_up); });
    }

    // --- commands -----------------------------------------------------------------------------

    void issue(std::vector<std::string> const& argv, reply_handler done)
    {
        auto& l = command_link;
        if (l.state != phase::up)
            return fail(std::move(done), failure::down);
        if (l.conn->unanswered() >= settings.max_pending_commands)
            return fail(std::move(done), failure::overloaded);
        auto const start = clock::now();
        auto sent = l.conn->send(argv, [this, done, start](redisReply const* r) {
            if (!r) {
                count_failure(timing_out ? failure::timeout : failure::connection_lost);
                deliver([&] { done(make_error_code(errc::unavailable), {}); });
                return;
            }
            if (duration)
                duration->observe(seconds_since(start));
            auto reply = copy_reply(*r);
            deliver([&] { done({}, std::move(reply)); });
        });
        if (!sent)
            return fail(std::move(done), failure::down);
        arm_command_timer();
    }

    /** A command unanswered for command_timeout drops the command connection: a Redis that
     * stopped answering (SIGSTOP, a dead host) must not hold callers. */
    void arm_command_timer()
    {
        if (command_timer_armed || !command_link.conn)
            return;
        auto const oldest = command_link.conn->oldest_unanswered();
        if (!oldest)
            return;
        command_timer_armed = true;
        command_timer.expires_at(*oldest + settings.command_timeout);
        command_timer.async_wait([this](boost::system::error_code ec) {
            command_timer_armed = false;
            if (ec || stopping || !command_link.conn)
                return;
            auto const first = command_link.conn->oldest_unanswered();
            if (first && clock::now() - *first >= settings.command_timeout) {
                timing_out = true;
                command_link.conn->close("no answer within the command timeout");
                return;
            }
            arm_command_timer();
        });
    }

    /** EVALSHA when Redis holds the script for this connection, else EVAL (which makes Redis
     * hold it: later EVALSHAs on the connection run after it). `argv` is {"EVALSHA", sha1,
     * numkeys, keys..., args...}. */
    void run_script(std::shared_ptr<std::vector<std::string>> argv, reply_handler done)
    {
        auto& sha1 = (*argv)[1];
        auto known = scripts.find(sha1);
        if (!loaded.count(sha1)) {
            auto eval_argv = *argv;
            eval_argv[0] = "EVAL";
            eval_argv[1] = known->second;
            if (command_link.state == phase::up)
                loaded.insert(sha1);
            issue(eval_argv, std::move(done));
            return;
        }
        issue(*argv, [this, argv, done = std::move(done)](boost::system::error_code ec, redis_reply reply) mutable {
            // Only after a SCRIPT FLUSH on a live connection: every script goes in full again.
            if (!ec && reply.is_error() && reply.str.rfind("NOSCRIPT", 0) == 0) {
                loaded.clear();
                run_script(std::move(argv), std::move(done));
                return;
            }
            done(ec, std::move(reply));
        });
    }

    // --- pub/sub -----------------------------------------------------------------------------

    void on_push(redisReply const& r)
    {
        if (r.type != REDIS_REPLY_ARRAY || r.elements < 3 || r.element[0]->type != REDIS_REPLY_STRING ||
            r.element[1]->type != REDIS_REPLY_STRING)
            return;
        auto const kind = std::string_view(r.element[0]->str, r.element[0]->len);
        auto const channel = std::string_view(r.element[1]->str, r.element[1]->len);
        if (kind == "message" && r.element[2]->type == REDIS_REPLY_STRING) {
            if (received)
                received->inc();
            auto const payload = std::string_view(r.element[2]->str, r.element[2]->len);
            if (channel == own_channel && payload.substr(0, probe_prefix.size()) == probe_prefix) {
                if (payload.substr(probe_prefix.size()) == std::to_string(probe_waiting))
                    probe_waiting = 0;
                return;
            }
            dispatch(channel, payload);
            return;
        }
        if (r.element[2]->type != REDIS_REPLY_INTEGER)
            return;
        if (subscriptions)
            subscriptions->set(r.element[2]->integer);
        if (kind == "subscribe" && unconfirmed.erase(std::string(channel)) && unconfirmed.empty() &&
            subscriber_link.state == phase::handshake)
            handshake_done(subscriber_link);
    }

    /** To the handler of the longest registered prefix of `channel`, if any. */
    void dispatch(std::string_view channel, std::string_view payload)
    {
        message_handler const* best = nullptr;
        std::size_t best_length = 0;
        for (auto const& [prefix, handler] : message_handlers)
            if (channel.substr(0, prefix.size()) == prefix && (!best || prefix.size() > best_length)) {
                best = &handler;
                best_length = prefix.size();
            }
        if (best)
            deliver([&] { (*best)(channel, payload); });
    }

    void want(std::string const& channel)
    {
        if (!wanted.insert(channel).second)
            return;
        auto& l = subscriber_link;
        if (l.state == phase::handshake || l.state == phase::up) {
            if (l.state == phase::handshake)
                unconfirmed.insert(channel);
            l.conn->subscription({"SUBSCRIBE", channel});
        }
    }

    void unwant(std::string const& channel)
    {
        if (channel == own_channel || !wanted.erase(channel))
            return;
        auto& l = subscriber_link;
        if (l.state == phase::handshake || l.state == phase::up) {
            l.conn->subscription({"UNSUBSCRIBE", channel});
            if (unconfirmed.erase(channel) && unconfirmed.empty() && l.state == phase::handshake)
                handshake_done(l);
        }
    }

    /** Every probe_interval a probe through the command connection to the own channel; one not
     * back within probe_timeout means the subscription is wedged: the subscriber reconnects. */
    void probe_tick()
    {
        probe_timer.expires_after(settings.probe_interval);
        probe_timer.async_wait([this](boost::system::error_code ec) {
            if (ec || stopping)
                return;
            if (probe_waiting != 0 && clock::now() - probe_sent_at >= settings.probe_timeout) {
                log->warn("redis_probe_lost", {{"server", std::string_view(address)},
                                               {"probe", probe_waiting}});
                probe_waiting = 0;
                if (subscriber_link.conn)
                    subscriber_link.conn->close("the probe did not come back within the probe timeout");
            } else if (probe_waiting == 0 && up) {
                probe_waiting = ++probe_sent_number;
                probe_sent_at = clock::now();
                auto payload = std::string(probe_prefix) + std::to_string(probe_waiting);
                issue({"PUBLISH", own_channel, std::move(payload)}, [](boost::system::error_code, redis_reply) {});
            }
            probe_tick();
        });
    }

    void shut_down()
    {
        stopping = true;
        set_health("stopped");
        command_link.retry.cancel();
        subscriber_link.retry.cancel();
        command_timer.cancel();
        probe_timer.cancel();
        for (auto* l : {&command_link, &subscriber_link})
            if (l->conn)
                l->conn->close("the client stopped");
    }
};

redis_client::redis_client(redis_settings const& settings, std::shared_ptr<telemetry::logger> log,
                           std::shared_ptr<telemetry::registry> metrics)
    : impl_(std::make_unique<impl>(settings, std::move(log), std::move(metrics)))
{
}

redis_client::~redis_client() { stop(); }

void redis_client::start()
{
    auto& m = *impl_;
    if (m.started.exchange(true) || m.stopped)
        return;
    m.set_health("connecting (" + m.address + ")");
    boost::asio::post(m.io, [&m] {
        m.connect(m.command_link);
        m.connect(m.subscriber_link);
        m.probe_tick();
    });
    m.thread = std::thread([&m] {
        for (;;) {
            try {
                m.io.run();
                return;
            } catch (std::exception const& e) {
                m.log->error("redis_client_failed", {{"error", std::string_view(e.what())}});
            }
        }
    });
}

void redis_client::stop()
{
    auto& m = *impl_;
    bool first = false;
    {
        std::lock_guard lock(m.stop_mutex);
        if (!m.stopped) {
            m.stopped = true;
            first = true;
            // Closing both connections answers every waiting command (unavailable); run()
            // returns once those answers and the connections' last callbacks have run.
            boost::asio::post(m.io, [&m] { m.shut_down(); });
        }
    }
    if (first) {
        m.work.reset();
        m.up = false;
        m.set_health("stopped");
    }
    // From one of the client's own handlers the thread cannot wait for itself: the destructor
    // (on another thread) joins it.
    if (m.thread.joinable() && m.thread.get_id() != std::this_thread::get_id())
        m.thread.join();
}

bool redis_client::up() const noexcept { return impl_->up; }

std::string redis_client::health() const
{
    std::lock_guard lock(impl_->health_mutex);
    return impl_->health;
}

void redis_client::command(std::vector<std::string> argv, reply_handler done)
{
    auto& m = *impl_;
    {
        std::lock_guard lock(m.stop_mutex);
        if (!m.stopped) {
            boost::asio::post(m.io, [&m, argv = std::move(argv), done = std::move(done)]() mutable {
                m.issue(argv, std::move(done));
            });
            return;
        }
    }
    // Nothing runs the client's thread any more: answered here.
    m.count_failure(impl::failure::down);
    done(make_error_code(errc::unavailable), {});
}

void redis_client::eval(redis_script const& script, std::vector<std::string> keys, std::vector<std::string> args,
                        reply_handler done)
{
    auto& m = *impl_;
    auto argv = std::make_shared<std::vector<std::string>>();
    argv->reserve(3 + keys.size() + args.size());
    argv->insert(argv->end(), {"EVALSHA", script.sha1, std::to_string(keys.size())});
    argv->insert(argv->end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    argv->insert(argv->end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    {
        std::lock_guard lock(m.stop_mutex);
        if (!m.stopped) {
            boost::asio::post(m.io, [&m, argv = std::move(argv), source = script.source,
                                     done = std::move(done)]() mutable {
                m.scripts.try_emplace((*argv)[1], std::move(source));
                m.run_script(std::move(argv), std::move(done));
            });
            return;
        }
    }
    m.count_failure(impl::failure::down);
    done(make_error_code(errc::unavailable), {});
}

void redis_client::on_message(std::string prefix, message_handler handler)
{
    impl_->message_handlers.emplace_back(std::move(prefix), std::move(handler));
}

void redis_client::subscribe(std::string const& channel)
{
    auto& m = *impl_;
    m.post_unless_stopped([&m, channel] { m.want(channel); });
}

void redis_client::unsubscribe(std::string const& channel)
{
    auto& m = *impl_;
    m.post_unless_stopped([&m, channel] { m.unwant(channel); });
}

void redis_client::on_state(std::function<void(bool up)> handler) { impl_->state_handlers.push_back(std::move(handler)); }

std::string const& redis_client::own_channel() const noexcept { return impl_->own_channel; }

} // namespace relay::cluster
