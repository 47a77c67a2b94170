#pragma once
// Coalesced writes for WebSocket connections. Beast writes one frame per system call; under
// fan-out that made one sendmsg per event per app the relay's main cost. A connection's frames
// are instead gathered in its write_batch while its thread routes everything that is ready, and
// leave in one write at the end of that turn of the event loop (write_batcher::drive). At low
// load a turn is one message, so nothing waits; under load a batch holds many frames.
#include "server/net.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_range.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace relay::server {

class maybe_tls_stream;
class write_batch;

/**
 * One per io_context (an Asio service): the batches with bytes waiting in this turn of the
 * loop. Not thread-safe: each io_context is run by exactly one thread, drive()'s.
 */
class write_batcher : public net::execution_context::service {
public:
    using key_type = write_batcher;
    static inline net::execution_context::id id;

    explicit write_batcher(net::execution_context& context) : net::execution_context::service(context) {}

    /** Registers a batch with bytes waiting; they leave at the end of this loop turn. */
    void add(std::shared_ptr<write_batch> batch, net::any_io_executor const& ex);
    /** Starts the write of every registered batch. */
    void flush();

    /**
     * Runs `context` on the calling thread until it stops or runs out of work, flushing the
     * batches after each turn: every ready handler (at most a bounded number, so a busy thread
     * still writes regularly), then one write per connection with output. With nothing ready,
     * it polls for up to `busy_poll` before it sleeps.
     */
    static void drive(net::io_context& context, std::chrono::microseconds busy_poll = {});

private:
    friend class write_batch;
    void shutdown() override;
    /** `batch` now holds a handler, which holds its session, which holds `batch`. */
    void holding(std::shared_ptr<write_batch> const& batch);

    std::vector<std::shared_ptr<write_batch>> pending_;
    // Batches that hold a parked write or an idle waiter (or did): shutdown() breaks their
    // cycles, as Asio does for the handlers it owns. Pruned as it grows.
    std::vector<std::weak_ptr<write_batch>> holding_;
    std::size_t prune_at_ = 64;
    std::vector<std::shared_ptr<write_batch>> flushing_;
    bool driven_ = false;       // drive() runs this context: no need to post flushes
    bool flush_posted_ = false; // fallback for a context run some other way (tests)
};

/**
 * The write side of one connection in batching mode. Each write is copied in and completes at
 * once, unless a write is already on the socket and more than `limit` bytes wait behind it:
 * then the writer's completion waits for the socket, so a slow peer pushes back on the
 * connection's own send queue (and its slow-consumer policy) instead of growing this buffer.
 * Owned by its stream, the batcher and the write in flight; touched only on its own thread.
 */
class write_batch : public std::enable_shared_from_this<write_batch> {
public:
    using write_handler = net::any_completion_handler<void(beast::error_code, std::size_t)>;
    using idle_handler = net::any_completion_handler<void()>;

    static constexpr std::size_t limit = 64 * 1024;

    /** `keeper` owns the stream (its session): held while a write is on the socket. */
    write_batch(maybe_tls_stream& owner, std::weak_ptr<void> keeper, write_batcher& batcher, net::any_io_executor ex)
        : owner_(&owner), keeper_(std::move(keeper)), ex_(std::move(ex)), batcher_(batcher)
    {
    }

    template <class ConstBufferSequence, class Handler>
    void write(ConstBufferSequence const& buffers, Handler&& handler)
    {
        std::size_t n = net::buffer_size(buffers);
        if (error_) {
            net::post(ex_, beast::bind_front_handler(std::forward<Handler>(handler), error_, std::size_t{0}));
            return;
        }
        for (auto b : beast::buffers_range_ref(buffers))
            out_.append(static_cast<char const*>(b.data()), b.size());
        if (!registered_) {
            registered_ = true;
            batcher_.add(shared_from_this(), ex_);
        }
        if (writing_ && out_.size() > limit) {
            parked_.emplace(std::forward<Handler>(handler));
            parked_bytes_ = n;
            batcher_.holding(shared_from_this());
            return;
        }
        net::post(ex_, beast::bind_front_handler(std::forward<Handler>(handler), beast::error_code{}, n));
    }

    /** Puts what is waiting on the socket (unless a write is already there). */
    void flush();
    /** Nothing waiting and nothing on the socket (or the socket failed). */
    bool idle() const noexcept { return !writing_ && (out_.empty() || error_); }
    /** Calls `h` once idle (at once when already idle); for closing after the last bytes. */
    void when_idle(idle_handler h);
    /** The stream is going away: nothing more is written. */
    void detach() noexcept { owner_ = nullptr; }
    void rebind(maybe_tls_stream& owner) noexcept { owner_ = &owner; }

private:
    friend class write_batcher;
    void on_written(beast::error_code ec);
    bool holds_handler() const noexcept { return parked_ || idle_waiter_; }
    /** Drops the waiting handlers unrun (shutdown). */
    void drop_handlers() noexcept
    {
        parked_.reset();
        idle_waiter_.reset();
    }

    maybe_tls_stream* owner_;
    std::weak_ptr<void> keeper_;
    net::any_io_executor ex_;
    write_batcher& batcher_;
    std::string out_;     // waiting for the next flush
    std::string sending_; // on the socket
    bool writing_ = false;
    bool registered_ = false;
    bool listed_ = false; // in the batcher's holding_ list
    beast::error_code error_; // the socket failed: every later write fails with this
    std::optional<write_handler> parked_;
    std::size_t parked_bytes_ = 0;
    std::optional<idle_handler> idle_waiter_;
};

} // namespace relay::server
