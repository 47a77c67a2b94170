#pragma once
// hiredis 0.14's async API on Asio: one Redis connection (a redisAsyncContext) driven by an
// io_context through hiredis's event hooks (ev.addRead/delRead/addWrite/delWrite/cleanup) on a
// posix::stream_descriptor, as hiredis's own libuv adapter does for libuv.
//
// What hiredis 0.14 leaves to its user, and this adapter does: connecting is non-blocking with
// no time limit (here a timer bounds the connect and the caller's handshake); after a
// disconnect hiredis frees the context and closes its fd itself (the descriptor is released,
// never closed, and the context never touched again); every pending callback is run with a null
// reply when the connection ends. Not done, by design of hiredis 0.14: TLS; a PING on a
// subscribed connection never reaches its callback (probe with PUBLISH instead).
//
// Threads: a connection and its callbacks live on the io_context's one thread.
#include "cluster/redis_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace relay::cluster {

/** A command's arguments as hiredis's *Argv functions take them (binary-safe: with lengths);
 * points into the strings it was made from. */
struct hiredis_argv {
    explicit hiredis_argv(std::vector<std::string> const& argv);
    int argc() const noexcept { return static_cast<int>(args.size()); }
    std::vector<char const*> args;
    std::vector<std::size_t> lengths;
};

/** A copy of a hiredis reply (hiredis frees its own when the callback returns). */
redis_reply copy_reply(redisReply const& reply);

/**
 * One connection to Redis. Made, used and closed on its io_context's thread; owned by a
 * shared_ptr (pending waits keep it alive). Each connect() ends with exactly one `closed` call.
 */
class hiredis_connection : public std::enable_shared_from_this<hiredis_connection> {
public:
    /** A command's reply; null when the connection ended before it came. */
    using reply_callback = std::function<void(redisReply const* reply)>;

    struct callbacks {
        /** The TCP connection is up: send the handshake (AUTH, SELECT, …), then call ready(). */
        std::function<void()> connected;
        /** The connection is gone (refused, timed out, closed by either side); posted, once. */
        std::function<void(std::string why)> closed;
        /** A subscription reply or message (an array); see subscription(). */
        std::function<void(redisReply const& reply)> pushed;
    };

    hiredis_connection(boost::asio::io_context& io, callbacks handlers);
    /** Frees a context still open without calling any callback (close() first to hear of it). */
    ~hiredis_connection();
    hiredis_connection(hiredis_connection const&) = delete;
    hiredis_connection& operator=(hiredis_connection const&) = delete;

    /** Starts connecting (resolving a host name first); `limit` bounds the name lookup, the
     * connect and the handshake, until ready(). */
    void connect(std::string const& host, std::uint16_t port, std::chrono::milliseconds limit);
    /** The handshake is done: the connect time limit no longer applies. */
    void ready();

    /** Sends one command; its reply comes to `done`, in order. False when closed or closing. */
    bool send(std::vector<std::string> const& argv, reply_callback done);
    /** Sends a SUBSCRIBE or UNSUBSCRIBE; its confirmations and the channels' messages come to
     * `pushed`. False when closed or closing. */
    bool subscription(std::vector<std::string> const& argv);

    /** When the oldest unanswered command was sent; nullopt when none waits. */
    std::optional<std::chrono::steady_clock::time_point> oldest_unanswered() const;
    std::size_t unanswered() const noexcept { return unanswered_.size(); }
    bool open() const noexcept { return context_ != nullptr && !closing_; }

    /** Ends the connection (posted, never inside a hiredis callback): every unanswered command's
     * callback gets null, then `closed(why)`. */
    void close(std::string why);

private:
    struct unanswered_command {
        reply_callback done;
        std::chrono::steady_clock::time_point sent;
    };

    // hiredis's hooks and callbacks (C functions; the connection is ev.data / ac->data).
    static void add_read(void* self);
    static void del_read(void* self);
    static void add_write(void* self);
    static void del_write(void* self);
    static void cleanup(void* self);
    static void on_connect(redisAsyncContext const* ac, int status);
    static void on_disconnect(redisAsyncContext const* ac, int status);
    static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
    static void on_push(redisAsyncContext* ac, void* reply, void* privdata);

    /** Makes hiredis's context for an address (no name) and attaches it here. */
    void attach(std::string const& address, std::uint16_t port);
    /** Waits for the descriptor to be readable (or writable) while hiredis wants it. */
    void arm(bool read);
    void report_closed();

    boost::asio::io_context& io_;
    callbacks handlers_;
    boost::asio::posix::stream_descriptor descriptor_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::steady_timer connect_timer_;
    redisAsyncContext* context_ = nullptr; ///< null once hiredis has freed it
    bool want_read_ = false;
    bool want_write_ = false;
    bool read_waiting_ = false;
    bool write_waiting_ = false;
    bool resolving_ = false;
    bool closing_ = false;
    bool reported_ = false;
    bool silent_ = false; ///< being destroyed: no callbacks
    std::string why_;
    std::deque<unanswered_command> unanswered_;
};

} // namespace relay::cluster
