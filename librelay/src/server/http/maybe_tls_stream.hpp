#pragma once
// A stream that is plain TCP or TLS over TCP, so HTTP and WebSocket sessions have one type either
// way (see tls.hpp for the context it takes).
#include "server/net.hpp"
#include "server/ws/write_batch.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/assert.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>

#include <memory>
#include <optional>

namespace relay::server {

namespace detail {
/** maybe_tls_stream::drain_then_close's steps: shutdown(send), read until EOF or 1 MiB, close. */
struct drain_op {
    tcp::socket& socket;
    std::unique_ptr<char[]> buffer;
    std::size_t left = 1024 * 1024;
    bool started = false;

    template <class Self>
    void operator()(Self& self, beast::error_code ec = {}, std::size_t n = 0)
    {
        if (!started) {
            started = true;
            socket.shutdown(tcp::socket::shutdown_send, ec); // an error shows on the read
        } else {
            left -= std::min(left, n);
            if (ec || left == 0) {
                beast::error_code ignored;
                socket.close(ignored);
                self.complete(ec == net::error::eof || !ec ? beast::error_code{} : ec);
                return;
            }
        }
        socket.async_read_some(net::buffer(buffer.get(), 2048), std::move(self));
    }
};
} // namespace detail

/**
 * A TCP stream, or a TLS stream over one: what HTTP and WebSocket sessions read and write.
 * HTTP uses the plain form's beast::tcp_stream for its deadlines; a WebSocket session, which
 * keeps its own timers, trades it for the bare socket (release_timers) and gathers its writes
 * into one system call per loop turn (batch_writes, see write_batch.hpp).
 */
class maybe_tls_stream {
    /** Calls `f` with the layer that carries the bytes: the TLS stream, the bare socket or the tcp_stream. */
    template <class F>
    decltype(auto) visit(F&& f)
    {
        if (tls_)
            return f(*tls_);
        if (socket_)
            return f(*socket_);
        return f(*plain_);
    }

public:
    using executor_type = net::any_io_executor;
    using tls_stream = beast::ssl_stream<beast::tcp_stream>;

    explicit maybe_tls_stream(beast::tcp_stream plain) : plain_(std::move(plain)) {}
    maybe_tls_stream(beast::tcp_stream plain, std::shared_ptr<net::ssl::context> context)
        : context_(std::move(context)), tls_(std::make_unique<tls_stream>(std::move(plain), *context_))
    {
    }
    maybe_tls_stream(maybe_tls_stream&& other) noexcept
        : plain_(std::move(other.plain_)), socket_(std::move(other.socket_)), context_(std::move(other.context_)),
          tls_(std::move(other.tls_)), batch_(std::move(other.batch_)), keeper_(std::move(other.keeper_)),
          batcher_(other.batcher_)
    {
        BOOST_ASSERT(!batch_ || batch_->idle()); // moved only before its first write
        if (batch_)
            batch_->rebind(*this);
    }
    maybe_tls_stream& operator=(maybe_tls_stream&&) = delete;
    ~maybe_tls_stream()
    {
        if (batch_)
            batch_->detach();
    }

    executor_type get_executor() noexcept { return socket().get_executor(); }
    /** The plain or TLS stream's tcp_stream, for HTTP deadlines; not after release_timers(). */
    beast::tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
    tcp::socket& socket() noexcept { return socket_ ? *socket_ : tcp().socket(); }
    bool is_tls() const noexcept { return tls_ != nullptr; }
    tls_stream& tls() noexcept { return *tls_; }

    /** Plain streams drop tcp_stream's timers for the bare socket; call with nothing pending. */
    void release_timers()
    {
        if (plain_) {
            socket_.emplace(plain_->release_socket());
            plain_.reset();
        }
    }
    /**
     * From now on writes are gathered per loop turn (see write_batch.hpp). `keeper` owns this
     * stream (the session) and is kept alive while a write is on the socket.
     */
    void batch_writes(std::weak_ptr<void> keeper)
    {
        keeper_ = std::move(keeper);
        batcher_ = &net::use_service<write_batcher>(net::query(get_executor(), net::execution::context));
    }
    /** The batch went idle: an idle connection holds no batch (it is made again on the next write). */
    void release_batch(write_batch const* b) noexcept
    {
        if (batch_.get() == b)
            batch_.reset();
    }

    template <class MutableBufferSequence, class Token>
    auto async_read_some(MutableBufferSequence const& buffers, Token&& token)
    {
        return visit([&](auto& s) { return s.async_read_some(buffers, std::forward<Token>(token)); });
    }

    template <class ConstBufferSequence, class Token>
    auto async_write_some(ConstBufferSequence const& buffers, Token&& token)
    {
        if (batcher_) {
            if (!batch_)
                batch_ = std::make_shared<write_batch>(*this, keeper_, *batcher_, get_executor());
            return net::async_initiate<Token, void(beast::error_code, std::size_t)>(
                [](auto handler, write_batch* batch, ConstBufferSequence const& b) { batch->write(b, std::move(handler)); },
                token, batch_.get(), buffers);
        }
        return visit([&](auto& s) { return s.async_write_some(buffers, std::forward<Token>(token)); });
    }

    /** Writes all of `buffers` to the connection now, bypassing the batch (the batch's own writes). */
    template <class ConstBufferSequence, class Handler>
    void write_now(ConstBufferSequence const& buffers, Handler&& handler)
    {
        visit([&](auto& s) { net::async_write(s, buffers, std::forward<Handler>(handler)); });
    }

    // What Beast's WebSocket stream needs of its next layer to close it.
    friend void teardown(beast::role_type role, maybe_tls_stream& s, beast::error_code& ec)
    {
        s.visit([&](auto& layer) {
            using boost::beast::websocket::teardown;
            teardown(role, layer, ec);
        });
    }

    template <class TeardownHandler>
    friend void async_teardown(beast::role_type role, maybe_tls_stream& s, TeardownHandler&& handler)
    {
        // The close frame may still be in the batch: it leaves before the shutdown does.
        if (s.batch_ && !s.batch_->idle()) {
            s.batch_->when_idle([role, &s, h = std::forward<TeardownHandler>(handler)]() mutable {
                s.teardown_now(role, std::move(h));
            });
            s.batch_->flush();
            return;
        }
        s.teardown_now(role, std::forward<TeardownHandler>(handler));
    }

    friend void beast_close_socket(maybe_tls_stream& s)
    {
        beast::error_code ec;
        s.socket().close(ec);
    }

private:
    template <class TeardownHandler>
    void teardown_now(beast::role_type role, TeardownHandler&& handler)
    {
        if (socket_ && role == beast::role_type::server) {
            drain_then_close(std::forward<TeardownHandler>(handler));
            return;
        }
        visit([&](auto& layer) {
            using boost::beast::websocket::async_teardown;
            async_teardown(role, layer, std::forward<TeardownHandler>(handler));
        });
    }

    /**
     * Server-side TCP teardown: stop sending, read and drop what the peer still sends until it
     * closes (at most 1 MiB), then close. Beast's own stops after one read, so a peer still
     * sending — the rest of a message refused as too big — got a reset instead of reading the
     * close frame it had been sent.
     */
    template <class Handler>
    void drain_then_close(Handler&& handler)
    {
        net::async_compose<Handler, void(beast::error_code)>(
            detail::drain_op{*socket_, std::make_unique<char[]>(2048)}, handler, *socket_);
    }

    std::optional<beast::tcp_stream> plain_;
    std::optional<tcp::socket> socket_; // the plain form after release_timers()
    std::shared_ptr<net::ssl::context> context_; // kept alive as long as the TLS stream
    std::unique_ptr<tls_stream> tls_;
    std::shared_ptr<write_batch> batch_; // while output is waiting or on the socket
    std::weak_ptr<void> keeper_;         // batched writes: the session owning this stream
    write_batcher* batcher_ = nullptr;   // batched writes: this thread's batcher
};

} // namespace relay::server
