#include "server/ws/ws_connection.hpp"

#include "server/services.hpp"

#include <relay/protocol/codec.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>

namespace relay::server {
namespace websocket = beast::websocket;

namespace {
// A peer that keeps sending over its rate limit this many times in a row is cut off (4429).
constexpr unsigned rate_abuse_threshold = 100;
} // namespace

ws_connection::ws_connection(std::shared_ptr<services> svc, maybe_tls_stream stream, http_request upgrade,
                             std::string client, std::string_view kind)
    : services_(std::move(svc)),
      client_(std::move(client)),
      // Room for a tunnel answer somewhat over the limit as base64, so it gets a clean 413.
      max_message_(kind == "robot" ? std::max(rt()->options.read_message_max,
                                              rt()->options.tunnel_body_max * 2 + 64 * 1024)
                                   : rt()->options.read_message_max),
      kind_(kind),
      ws_(std::move(stream)),
      context_(static_cast<net::io_context&>(net::query(ws_.get_executor(), net::execution::context))),
      upgrade_(std::make_unique<http_request>(std::move(upgrade))),
      timer_(ws_.get_executor()),
      last_heard_(std::chrono::steady_clock::now()),
      bucket_(kind == "robot" ? rt()->options.robot_rate.rate : rt()->options.app_rate.rate,
              kind == "robot" ? rt()->options.robot_rate.burst : rt()->options.app_rate.burst)
{
}

ws_connection::~ws_connection() = default;

void ws_connection::on_run_end(std::exception_ptr e)
{
    if (!e)
        return;
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& ex) {
        // A bug in one session costs that connection, never the relay.
        rt()->log.error("connection_failed", {{"kind", kind_}, {"client", client_}, {"what", ex.what()}});
    }
}

void ws_connection::post_frame(std::shared_ptr<std::string const> frame)
{
    net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
        self->enqueue(std::move(frame));
    });
}

void ws_connection::post_close(protocol::close_code code)
{
    net::post(ws_.get_executor(), [self = shared_from_this(), code] { self->begin_close(code); });
}

net::awaitable<bool> ws_connection::accept()
{
    // The session has its own timers; tcp_stream's would only cost memory.
    ws_.next_layer().release_timers();
    // Keepalive is ours (see on_timer); Beast only bounds the opening and closing handshakes.
    websocket::stream_base::timeout opts{};
    opts.handshake_timeout = std::chrono::seconds(10);
    opts.idle_timeout = websocket::stream_base::none();
    opts.keep_alive_pings = false;
    ws_.set_option(opts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "relayd"); }));
    ws_.read_message_max(max_message_);
    ws_.auto_fragment(false);
    ws_.text(true);
    // Invoked only inside this connection's own read operation, which holds a reference to it.
    ws_.control_callback([this](websocket::frame_type, beast::string_view) {
        last_heard_ = std::chrono::steady_clock::now();
        ping_in_flight_ = false;
    });
    auto [accept_ec] = co_await ws_.async_accept(*upgrade_, use_tuple);
    upgrade_.reset();
    if (accept_ec) {
        rt()->log.debug("ws_handshake_failed", {{"kind", kind_}, {"client", client_}, {"error", accept_ec.message()}});
        co_return false;
    }
    // In its final place now: frames queued from here on leave together once per loop turn.
    ws_.next_layer().batch_writes(weak_from_this());
    live()->connections.add(shared_from_this());
    // The auth deadline first; once authenticated the same timer drives keepalive.
    timer_.expires_after(rt()->options.auth_timeout);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec)
            self->on_timer();
    });
    co_return true;
}

void ws_connection::authenticated()
{
    authenticated_ = true;
    last_heard_ = std::chrono::steady_clock::now();
    arm_keepalive(last_heard_);
}

void ws_connection::set_deadline(std::chrono::steady_clock::time_point at)
{
    deadline_ = at;
    // Before authentication the timer is the auth deadline, which authenticated() replaces.
    if (authenticated_ && !closing_)
        arm_keepalive(std::chrono::steady_clock::now());
}

void ws_connection::arm_keepalive(std::chrono::steady_clock::time_point now)
{
    // Re-arming cancels a pending wait, whose handler then sees operation_aborted.
    auto next = std::min<std::chrono::steady_clock::duration>(rt()->options.ping_interval,
                                                              last_heard_ + rt()->options.idle_timeout - now);
    if (deadline_ != std::chrono::steady_clock::time_point::max())
        next = std::min<std::chrono::steady_clock::duration>(next, deadline_ - now);
    timer_.expires_after(std::max<std::chrono::steady_clock::duration>(next, std::chrono::steady_clock::duration::zero()));
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec)
            self->on_timer();
    });
}

void ws_connection::on_timer()
{
    if (closing_)
        return;
    if (!authenticated_) {
        on_auth_timeout();
        return;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline_) {
        deadline_ = std::chrono::steady_clock::time_point::max();
        on_deadline();
        if (closing_)
            return;
        now = std::chrono::steady_clock::now();
    }
    if (now - last_heard_ >= rt()->options.idle_timeout) {
        drop("idle");
        return;
    }
    // A wake-up for the deadline alone may come long before the next ping is due; pinging
    // then too is harmless (the peer answers a pong) and keeps this simple.
    if (!ping_in_flight_) {
        ping_in_flight_ = true;
        ws_.async_ping({}, [self = shared_from_this()](boost::system::error_code) {});
    }
    arm_keepalive(now);
}

net::awaitable<void> ws_connection::read_loop()
{
    for (;;) {
        auto [ec, n] = co_await ws_.async_read(buffer_, use_tuple);
        if (ec) {
            if (ec == websocket::error::message_too_big)
                rt()->log.info("ws_message_too_big", {{"kind", kind_}, {"client", client_}});
            else if (ec != websocket::error::closed && ec != net::error::operation_aborted && ec != net::error::eof &&
                     ec != net::error::connection_reset)
                rt()->log.debug("ws_read_failed", {{"kind", kind_}, {"error", ec.message()}});
            break;
        }
        last_heard_ = std::chrono::steady_clock::now();
        auto data = buffer_.cdata();
        std::string_view text(static_cast<char const*>(data.data()), data.size());
        if (!authenticated_ || take_token())
            co_await on_message(text);
        else if (!closing_)
            send_error(errc::rate_limited, "over the message rate limit; message dropped");
        buffer_.consume(buffer_.size());
        // Most connections are idle most of the time: they keep no read buffer between messages.
        buffer_.shrink_to_fit();
        if (closing_ && !writing_ && head_ == queue_.size())
            break;
    }
    closing_ = true;
    timer_.cancel();
    wake_room_waiters();
    live()->connections.remove(this);
}

bool ws_connection::take_token()
{
    if (bucket_.try_take()) {
        over_limit_ = 0;
        return true;
    }
    rt()->metrics.rate_limited.inc();
    if (++over_limit_ >= rate_abuse_threshold) {
        rt()->log.warn("rate_limit_abuse", {{"kind", kind_}, {"client", client_}});
        begin_close(protocol::close_code::rate_limit_abuse);
    }
    return false;
}

void ws_connection::enqueue(std::shared_ptr<std::string const> frame)
{
    if (closing_)
        return;
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    (kind_ == "robot" ? rt()->metrics.robot_out : rt()->metrics.app_out).inc();
    // Slow-consumer policy: a peer this far behind is dropped rather than buffered without bound.
    if (queue_.size() - head_ > rt()->options.send_queue_max_messages ||
        queued_bytes_ > rt()->options.send_queue_max_bytes) {
        drop("slow_consumer");
        return;
    }
    do_write();
}

void ws_connection::send_error(errc code, std::string_view message, std::optional<std::string_view> ref)
{
    rt()->metrics.errors_sent.inc();
    count_error(code);
    enqueue(protocol::encode_error(code, message, ref));
}

void ws_connection::count_error(errc code)
{
    auto i = static_cast<std::size_t>(code);
    if (i < rt()->metrics.errors_by_code.size())
        rt()->metrics.errors_by_code[i]->inc();
}

void ws_connection::do_write()
{
    if (writing_)
        return;
    if (head_ == queue_.size()) {
        if (closing_code_) {
            auto code = *closing_code_;
            closing_code_.reset();
            websocket::close_reason reason;
            reason.code = static_cast<std::uint16_t>(code);
            auto text = protocol::close_reason(code);
            reason.reason.assign(text.data(), text.size());
            ws_.async_close(reason,
                            [self = shared_from_this()](boost::system::error_code) {});
        }
        return;
    }
    writing_ = true;
    ws_.async_write(net::buffer(*queue_[head_]), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        self->writing_ = false;
        self->queued_bytes_ -= self->queue_[self->head_]->size();
        self->queue_[self->head_++].reset();
        if (ec) {
            self->closing_ = true;
            self->closing_code_.reset();
            self->clear_queue();
            self->wake_room_waiters();
            return;
        }
        if (self->head_ == self->queue_.size())
            self->clear_queue();
        else if (self->head_ >= 64 && self->head_ * 2 >= self->queue_.size()) {
            // Never drained for a while: drop the sent prefix (amortized O(1) per frame).
            self->queue_.erase(self->queue_.begin(), self->queue_.begin() + static_cast<std::ptrdiff_t>(self->head_));
            self->head_ = 0;
        }
        if (self->room_ && self->queue_.size() - self->head_ <= self->room_messages_ &&
            self->queued_bytes_ <= self->room_bytes_)
            self->wake_room_waiters();
        self->do_write();
    });
}

net::awaitable<bool> ws_connection::wait_for_room(std::size_t messages, std::size_t bytes)
{
    while (!closing_ && !has_room(messages, bytes)) {
        if (!room_)
            room_ = std::make_unique<net::steady_timer>(ws_.get_executor(), net::steady_timer::time_point::max());
        room_messages_ = messages;
        room_bytes_ = bytes;
        // Never expires by itself: wake_room_waiters() cancels the wait.
        co_await room_->async_wait(use_tuple);
    }
    co_return !closing_;
}

void ws_connection::wake_room_waiters()
{
    if (room_)
        room_->cancel();
}

void ws_connection::clear_queue()
{
    // A burst's capacity is given back once it has drained; an idle connection holds nothing.
    if (queue_.capacity() > 16)
        std::vector<std::shared_ptr<std::string const>>().swap(queue_);
    else
        queue_.clear();
    head_ = 0;
    queued_bytes_ = 0;
}

void ws_connection::begin_close(protocol::close_code code)
{
    if (closing_)
        return;
    closing_ = true;
    timer_.cancel();
    wake_room_waiters();
    // Whatever is queued (e.g. the error explaining the close) goes out before the close frame.
    closing_code_ = code;
    do_write();
}

void ws_connection::drop(std::string_view why)
{
    if (why == "slow_consumer")
        rt()->metrics.slow_consumer_drops.inc();
    rt()->log.warn("ws_dropped", {{"kind", kind_}, {"client", client_}, {"reason", why},
                                 {"queued", queue_.size() - head_}, {"queued_bytes", queued_bytes_}});
    closing_ = true;
    timer_.cancel();
    wake_room_waiters();
    // No close frame: the peer is not reading, so one would never get through.
    beast::error_code ec;
    ws_.next_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    ws_.next_layer().socket().close(ec);
}

} // namespace relay::server
