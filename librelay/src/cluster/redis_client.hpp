#pragma once
// A node's two Redis connections (hiredis 0.14 through hiredis_asio.hpp), on one thread of
// their own: a pipelined command connection and a subscriber connection. Reconnecting with
// back-off, re-authenticating, re-selecting the db and resubscribing (in batches) are done
// here; hiredis does none of it.
//
// Threads: every member may be called from any thread. Every handler and callback runs on the
// client's thread (its io_context), in the order Redis answered, and must not block.
#include <relay/cluster/redis.hpp>
#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace relay::cluster {

/** A Redis reply, copied out of hiredis so it outlives the callback. */
struct redis_reply {
    enum class kind : std::uint8_t { nil, status, error, integer, string, array };
    kind type = kind::nil;
    std::int64_t integer = 0;
    std::string str; ///< status, error and string replies
    std::vector<redis_reply> elements;

    bool is_error() const noexcept { return type == kind::error; }
};

/** A Lua script run with EVALSHA (falling back to EVAL once after NOSCRIPT, e.g. after a restart). */
struct redis_script {
    explicit redis_script(std::string source); // computes the SHA1
    std::string source;
    std::string sha1;
};

class redis_client : public std::enable_shared_from_this<redis_client> {
public:
    redis_client(redis_settings const& settings, std::shared_ptr<telemetry::logger> log,
                 std::shared_ptr<telemetry::registry> metrics);
    ~redis_client();
    redis_client(redis_client const&) = delete;
    redis_client& operator=(redis_client const&) = delete;

    /** Starts the thread and connects (retrying with back-off until stop()). */
    void start();
    /** Fails every waiting command (errc::unavailable), closes both connections, joins the thread. */
    void stop();

    /** True while both connections are up and the subscription answered its last probe. */
    bool up() const noexcept;
    /** Empty when up; else what is wrong, e.g. "connection refused (127.0.0.1:6379)". */
    std::string health() const;

    /**
     * A command's answer: `ec` is relay::errc::unavailable when it could not be sent or no answer
     * came (connection lost, command_timeout, too many waiting); a Redis error reply is a reply
     * (`reply.is_error()`), not an `ec`.
     */
    using reply_handler = std::function<void(boost::system::error_code ec, redis_reply reply)>;

    /** Sends one command, e.g. {"XRANGE", key, from, to}. Pipelined; answered in order. */
    void command(std::vector<std::string> argv, reply_handler done);
    /**
     * EVALSHA script numkeys keys... args..., in order with the commands around it: the client
     * sends a script it has not seen Redis take on this connection in full (EVAL) and loads every
     * script it knows again after each reconnect (a restarted Redis has none). Only after a
     * SCRIPT FLUSH on a live connection does an EVALSHA meet NOSCRIPT; it then goes once more as
     * EVAL, behind whatever was sent meanwhile.
     */
    void eval(redis_script const& script, std::vector<std::string> keys, std::vector<std::string> args,
              reply_handler done);

    // --- pub/sub ---------------------------------------------------------------------------
    /** A message on a subscribed channel; the views are valid during the call only. */
    using message_handler = std::function<void(std::string_view channel, std::string_view payload)>;
    /** Handles messages on channels starting with `prefix` (set before start()). */
    void on_message(std::string prefix, message_handler handler);

    /**
     * Wants `channel`: subscribed now when connected, and again after every reconnect. The
     * client keeps the set of wanted channels; a channel wanted twice is subscribed once.
     */
    void subscribe(std::string const& channel);
    /** No longer wants `channel`. */
    void unsubscribe(std::string const& channel);

    /**
     * Called with true each time the client is up again (both connections, every wanted channel
     * resubscribed: what was published meanwhile can now be looked for) and with false when it
     * goes down. Set before start(); every handler given is called (the broker and the cluster part each set one).
     */
    void on_state(std::function<void(bool up)> handler);

    /** The node's own channel (its probe travels there): "relay:node:<node_id>". */
    std::string const& own_channel() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace relay::cluster
