#pragma once
// What /ws/app and /ws/device sessions share: the WebSocket stream, a bounded send queue with
// one write in flight, keepalive (ping every 30 s, drop after 75 s of silence), the auth
// deadline, and close handling. Everything here runs on the connection's own io_context
// thread; only post_frame() and post_close() may be called from other threads.
#include "server/net.hpp"
#include "server/services.hpp"
#include "server/http/maybe_tls_stream.hpp"

#include <relay/protocol/close_code.hpp>
#include <relay/protocol/errc.hpp>
#include <relay/routing/token_bucket.hpp>

#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::server {


class ws_connection : public std::enable_shared_from_this<ws_connection> {
public:
    using stream_type = beast::websocket::stream<maybe_tls_stream>;

    /** `rt` and `live` are the services every connection uses (services.hpp). */
    ws_connection(std::shared_ptr<services> svc, maybe_tls_stream stream,
                  http_request upgrade, std::string client, std::string_view kind);
    virtual ~ws_connection();
    ws_connection(ws_connection const&) = delete;
    ws_connection& operator=(ws_connection const&) = delete;

    /** Thread-safe: queues a frame for this connection. */
    void post_frame(std::shared_ptr<std::string const> frame);
    /** Thread-safe: closes this connection with `code`. */
    void post_close(protocol::close_code code);

    /** "app" or "robot". */
    std::string_view kind() const noexcept { return kind_; }

    /**
     * Runs `session` (upgrade, authentication, messages) on its own thread, detached from the
     * HTTP connection that carried the upgrade, whose frames and buffers end here.
     */
    template <class Session> static void start(std::shared_ptr<Session> session)
    {
        std::shared_ptr<ws_connection> base = session;
        net::co_spawn(base->executor(), session->run(), [base](std::exception_ptr e) { base->on_run_end(e); });
    }

protected:
    /** The upgrade request, until accept() has answered it. */
    http_request const& upgrade_request() const noexcept { return *upgrade_; }
    /** Completes the upgrade; false when the handshake failed (nothing more to do). */
    net::awaitable<bool> accept();

    /** Reads messages until the connection ends, handing each text to on_message(). Every
     * message costs a token of the connection's rate limit; over it, RATE_LIMITED and dropped. */
    net::awaitable<void> read_loop();
    virtual net::awaitable<void> on_message(std::string_view text) = 0;
    /** The auth deadline passed before the peer authenticated. */
    virtual void on_auth_timeout() = 0;

    /** Marks the peer authenticated: the auth deadline gives way to keepalive. */
    void authenticated();
    /**
     * Calls on_deadline() once `at` has passed (own thread; replaces an earlier deadline). The
     * connection's one timer serves it along with keepalive: an idle connection holds no second
     * timer and no second pending wait.
     */
    void set_deadline(std::chrono::steady_clock::time_point at);
    /** The deadline of set_deadline() passed. It may set a new one or begin closing. */
    virtual void on_deadline() {}
    bool is_authenticated() const noexcept { return authenticated_; }
    net::any_io_executor executor() { return ws_.get_executor(); }
    /** The io_context this connection lives on (one thread runs it). */
    net::io_context& context() const noexcept { return context_; }
    bool on_own_thread() const noexcept { return context_.get_executor().running_in_this_thread(); }

    // Own thread only.
    void enqueue(std::shared_ptr<std::string const> frame);
    void enqueue(std::string text) { enqueue(std::make_shared<std::string const>(std::move(text))); }
    void send_error(errc code, std::string_view message, std::optional<std::string_view> ref = {});
    /** Counts an error message by code (relay_errors_total). */
    void count_error(errc code);
    void begin_close(protocol::close_code code);
    bool closing() const noexcept { return closing_; }
    /**
     * Completes once at most `messages` messages and `bytes` bytes wait in the send queue, at
     * once when that is already so; false when the connection is closing instead. A sender
     * with much to say (a resume's replay) paces itself with it rather than tripping the
     * slow-consumer policy. The caller keeps the connection alive across the wait.
     */
    net::awaitable<bool> wait_for_room(std::size_t messages, std::size_t bytes);
    /** Whether at most `messages` messages and `bytes` bytes wait in the send queue now. */
    bool has_room(std::size_t messages, std::size_t bytes) const noexcept
    {
        return queue_.size() - head_ <= messages && queued_bytes_ <= bytes;
    }

    /** Spends one token of the connection's message budget; false = over the limit. */
    bool take_token();

    /**
     * The services, held by one pointer for all of them: an idle connection's size is the
     * relay's memory (benchmarks.md), and the sessions reach each service through these.
     */
    std::shared_ptr<services> const services_;
    runtime* rt() const noexcept { return &services_->rt; }
    live_service* live() const noexcept { return &services_->live; }
    std::string const client_;
    /** The largest message this peer may send: robots also carry REST-tunnel answers. */
    std::size_t const max_message_;
    std::string_view const kind_; // "app" or "robot", for logs and metrics

private:
    void on_run_end(std::exception_ptr e);
    void do_write();
    void clear_queue();
    void on_timer();
    /** Waits until the next ping, the idle limit or the deadline, whichever comes first. */
    void arm_keepalive(std::chrono::steady_clock::time_point now);
    void drop(std::string_view why);

    stream_type ws_;
    net::io_context& context_;
    std::unique_ptr<http_request> upgrade_; // released once answered
    beast::flat_buffer buffer_;
    // Frames not yet handed to the stream, from queue_[head_] on. A vector rather than a deque,
    // which allocates a block even when empty: most connections are idle.
    std::vector<std::shared_ptr<std::string const>> queue_;
    std::size_t head_ = 0;
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool closing_ = false;
    bool authenticated_ = false;
    bool ping_in_flight_ = false;
    std::optional<protocol::close_code> closing_code_; // sent once the queue has drained
    // Wakes wait_for_room() callers once the queue is down to room_messages_/room_bytes_ or
    // the connection closes; made by the first wait, as few connections ever wait.
    std::unique_ptr<net::steady_timer> room_;
    std::size_t room_messages_ = 0;
    std::size_t room_bytes_ = 0;
    void wake_room_waiters();
    net::steady_timer timer_;
    std::chrono::steady_clock::time_point last_heard_;
    std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
    routing::token_bucket bucket_;
    unsigned over_limit_ = 0; // consecutive messages over the limit
};

} // namespace relay::server
