#pragma once
// The state behind relay::robot::client, shared by the public object, the reply handles and
// the connection (connection.hpp) that does the socket work.
//
// Who owns what:
// - strand_ (the I/O strand) owns the connection, the reconnect schedule and the flush waiters;
//   every member marked "strand" is touched only from handlers running on it.
// - mutex_ guards the outbox, the counters, the secret and the hello contents, which the
//   robot's own threads touch through send_event(), stats(), set_device_secret() and hello();
//   also the device key, which set_device_secret() drops.
// - callback_mutex_ (recursive, so a callback may call back into the client) guards the user's
//   callbacks and callbacks_off_; it is held while a callback runs, which is how stop() knows
//   that none is running once it has taken the lock.
#include <relay/auth/device_key.hpp>
#include <relay/robot/backoff.hpp>
#include <relay/robot/client.hpp>
#include <relay/robot/relay_url.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace relay::robot::detail {

namespace net = boost::asio;
using strand_type = net::strand<net::io_context::executor_type>;
using frame_ptr = std::shared_ptr<std::string const>;

class connection;

/** An event waiting to be written (or acknowledged), numbered in the order send_event accepted it. */
struct outbox_entry {
    std::uint64_t seq = 0;
    frame_ptr frame;
    std::string id; // acknowledged_events only: the event's id, which its ack names
    bool resend = false; // written before on a connection that ended without its ack
};

/** A thread blocked in client::flush(). */
struct flush_waiter {
    std::uint64_t target = 0;              // every event with seq <= target must be done
    std::optional<std::uint64_t> barrier;  // strand: the ping (per-connection number) whose pong completes it
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    bool ok = false;

    void complete(bool success);
};

/** One command or REST-tunnel request waiting for the robot's answer. */
struct reply_state {
    enum class kind { command, http };

    std::weak_ptr<client_core> core;
    kind what = kind::command;
    std::string id;
    std::uint64_t generation = 0; // the connection that brought the request
    std::atomic<bool> answered{false};

    /** Sends an encoded answer on the request's connection; false when already answered or gone. */
    bool answer(frame_ptr frame);
    /** The answer sent when nobody answered: never leave an app waiting. */
    ~reply_state();
};

/** The user's callbacks. */
struct callbacks {
    std::function<void(connection_info const&)> connected;
    std::function<void(disconnect_info const&)> disconnected;
    std::function<void(protocol::robot_command const&, command_reply)> command;
    std::function<void(protocol::robot_webrtc_request const&)> webrtc_request;
    std::function<void(protocol::webrtc_answer const&)> webrtc_answer;
    std::function<void(protocol::webrtc_ice const&)> webrtc_ice;
    std::function<void(protocol::webrtc_close_notice const&)> webrtc_close;
    std::function<void(protocol::robot_http_request const&, http_reply)> http_request;
    std::function<void(protocol::turn_credentials const&)> turn_credentials;
    std::function<void(protocol::event_ack const&)> event_ack;
    std::function<void(protocol::error const&)> error;
};

struct client_core : std::enable_shared_from_this<client_core> {
    client_core(client_options options, net::io_context& io, bool own_thread);
    ~client_core();

    // --- immutable after construction -------------------------------------------------------
    client_options const options_;
    relay_url const url_;
    net::io_context& io_;
    strand_type strand_;
    std::unique_ptr<net::ssl::context> tls_; // wss:// only
    bool const own_thread_;
    std::string const event_id_prefix_; // acknowledged_events: "<16 random hex digits>-"

    // --- strand -------------------------------------------------------------------------------
    std::shared_ptr<connection> connection_;
    std::uint64_t generation_ = 0; // one per attempt
    net::steady_timer retry_timer_;
    robot::backoff backoff_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point connected_at_{};
    std::vector<std::shared_ptr<flush_waiter>> flush_waiters_;

    // --- mutex_ -------------------------------------------------------------------------------
    mutable std::mutex mutex_;
    std::deque<outbox_entry> outbox_;
    // acknowledged_events: written, waiting for their ack, oldest first; all older than outbox_'s.
    std::deque<outbox_entry> unacked_;
    std::uint64_t next_event_seq_ = 1;
    client_stats stats_;
    std::string secret_;
    std::optional<auth::device_private_key> key_; // device_key_file's key; when set, it answers
    boost::json::object capabilities_;
    std::optional<std::string> firmware_;

    // --- lock-free flags for the robot's threads ------------------------------------------------
    std::atomic<bool> connected_{false};
    std::atomic<std::uint64_t> live_generation_{0}; // the authenticated connection, 0 when none
    std::atomic<bool> pump_posted_{false};
    std::atomic<std::uint64_t> next_event_id_{1}; // acknowledged_events: the <n> of the next event's id
    std::atomic<bool> started_{false};
    std::atomic<bool> stop_requested_{false};

    // --- callback_mutex_ --------------------------------------------------------------------------
    std::recursive_mutex callback_mutex_;
    callbacks callbacks_;
    bool callbacks_off_ = false;

    // --- the background thread (own_thread_ only) ------------------------------------------------
    std::thread thread_;
    std::future<void> thread_exited_;
    std::mutex join_mutex_; // two threads calling stop() join once

    // --- used by the public client --------------------------------------------------------------
    void start();
    void stop();
    boost::system::error_code send_event(std::string_view name, std::optional<boost::json::value> data);
    void hello(boost::json::object capabilities, std::optional<std::string> firmware);
    bool send_session_message(frame_ptr frame);
    bool flush(std::chrono::milliseconds timeout);
    client_stats stats() const;

    /** Runs a callback under callback_mutex_ unless callbacks are off; false when none ran. */
    template <class Member, class... Args> bool invoke(Member callbacks::*member, Args&&... args);
    /** Reports an exception a callback threw through on_error, so it is not lost. */
    void report_callback_exception(char const* which, std::exception_ptr e);

    // --- used by the connection (strand) -----------------------------------------------------------
    void connect();
    void on_authenticated(std::uint64_t generation, int protocol);
    void on_connection_ended(std::uint64_t generation, disconnect_info info);
    std::optional<frame_ptr> take_event();
    bool has_event() const;
    frame_ptr make_hello_frame() const;
    /** The `signature` for the challenge `nonce`: the key's Ed25519 signature when the client
     * has a key, else the secret's HMAC. */
    std::string challenge_answer(std::string const& nonce) const;
    bool needs_barrier() const;
    void barrier_sent(std::uint64_t ping_number);
    void pongs_received(std::uint64_t count);
    void deliver_command(protocol::robot_command const& command, std::uint64_t generation);
    void deliver_http_request(protocol::robot_http_request const& request, std::uint64_t generation);
    void deliver_error(protocol::error const& error);
    /** An `ack` on the live connection: the event leaves the outbox. */
    void on_event_ack(protocol::event_ack const& ack);

    // --- used by reply_state (any thread) ----------------------------------------------------------
    bool send_reply(frame_ptr frame, std::uint64_t generation);

private:
    void begin_stop();
    void schedule_pump();
    bool events_done_up_to(std::uint64_t target) const;
};

template <class Member, class... Args> bool client_core::invoke(Member callbacks::*member, Args&&... args)
{
    std::lock_guard lock(callback_mutex_);
    auto const& fn = callbacks_.*member;
    if (callbacks_off_ || !fn)
        return false;
    try {
        fn(std::forward<Args>(args)...);
    } catch (...) {
        report_callback_exception("callback", std::current_exception());
    }
    return true;
}

} // namespace relay::robot::detail
