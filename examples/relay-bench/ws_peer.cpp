#include "ws_peer.hpp"

#include <relay/auth/device_auth.hpp>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

namespace relay::bench {
namespace websocket = beast::websocket;

ws_peer::ws_peer(net::io_context& ioc, std::shared_ptr<peer_endpoint const> endpoint, net::ip::address_v4 source,
                 peer_identity identity, std::shared_ptr<peer_handlers const> handlers, std::size_t index,
                 std::size_t context_index)
    : ws_(ioc),
      endpoint_(std::move(endpoint)),
      source_(source),
      identity_(std::move(identity)),
      handlers_(std::move(handlers)),
      index_(index),
      context_index_(context_index)
{
}

void ws_peer::start()
{
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->do_connect(); });
}

void ws_peer::do_connect()
{
    started_ns_ = now_ns();
    stage_ = stage::connecting;
    auto& socket = ws_.next_layer();
    beast::error_code ec;
    socket.open(tcp::v4(), ec);
    if (!ec) {
        // Choose the port at connect time, not bind time, so one source address serves as many
        // connections as there are (address, port) pairs to the relay, not just free ports.
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        socket.bind(tcp::endpoint(source_, 0), ec);
    }
    if (ec)
        return fail("bind " + source_.to_string() + ": " + ec.message());
    socket.async_connect(endpoint_->relay, [self = shared_from_this()](beast::error_code e) { self->on_connect(e); });
}

void ws_peer::on_connect(beast::error_code ec)
{
    if (ec)
        return fail("connect: " + ec.message());
    connected_ns_ = now_ns();
    beast::error_code ignored;
    ws_.next_layer().set_option(tcp::no_delay(true), ignored);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    if (!identity_.robot)
        ws_.set_option(websocket::stream_base::decorator([token = identity_.token](websocket::request_type& req) {
            req.set(beast::http::field::authorization, "Bearer " + token);
        }));
    ws_.read_message_max(1 << 20);
    stage_ = stage::upgrading;
    ws_.async_handshake(endpoint_->host_header, identity_.robot ? "/ws/device" : "/ws/app",
                        [self = shared_from_this()](beast::error_code e) { self->on_upgrade(e); });
}

void ws_peer::on_upgrade(beast::error_code ec)
{
    if (ec)
        return fail("upgrade: " + ec.message());
    upgraded_ns_ = now_ns();
    stage_ = stage::authenticating;
    do_read();
}

void ws_peer::do_read()
{
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void ws_peer::on_read(beast::error_code ec)
{
    if (ec) {
        if (ec == websocket::error::closed)
            close_code_ = ws_.reason().code;
        std::string why = (stage_ == stage::ready ? "read: " : "authenticate: ") + ec.message();
        if (close_code_ != 0)
            why += " (close " + std::to_string(close_code_) + ")";
        return fail(std::move(why));
    }
    auto data = buffer_.cdata();
    std::string_view text(static_cast<char const*>(data.data()), data.size());
    if (stage_ == stage::ready)
        handlers_->on_message(*this, text);
    else
        on_auth_message(text);
    buffer_.consume(buffer_.size());
    if (stage_ != stage::closed)
        do_read();
}

void ws_peer::on_auth_message(std::string_view text)
{
    // Once per connection, so a full parse costs nothing that matters.
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    auto const* obj = ec ? nullptr : v.if_object();
    auto const* type = obj ? obj->if_contains("type") : nullptr;
    std::string_view kind = type && type->is_string() ? std::string_view(type->get_string()) : std::string_view();
    if (kind == "auth_challenge" && identity_.robot) {
        auto const* nonce = obj->if_contains("nonce");
        if (!nonce || !nonce->is_string())
            return fail("authenticate: challenge without a nonce");
        send(boost::json::serialize(boost::json::object{
            {"type", "auth"},
            {"device_id", identity_.device_id},
            {"signature", relay::auth::device_signature(identity_.secret, nonce->get_string(), identity_.device_id)}}));
        return;
    }
    if (kind == "auth_ok") {
        ready_ns_ = now_ns();
        stage_ = stage::ready;
        if (handlers_->on_ready)
            handlers_->on_ready(*this);
        return;
    }
    fail("authenticate: refused: " + std::string(text.substr(0, 200)));
}

void ws_peer::send(std::string text)
{
    if (stage_ == stage::closed || closing_)
        return;
    queue_.push_back(std::move(text));
    if (!writing_)
        do_write();
}

void ws_peer::do_write()
{
    if (queue_.empty()) {
        if (closing_ && stage_ != stage::closed) {
            writing_ = true; // a close is a write too: nothing may follow it
            ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
        }
        return;
    }
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->writing_ = false;
        self->queue_.pop_front();
        if (ec)
            return; // the read side reports the end
        self->do_write();
    });
}

void ws_peer::close()
{
    if (closing_ || stage_ == stage::closed)
        return;
    closing_ = true;
    if (stage_ == stage::idle)
        return fail("closed before it started");
    if (stage_ != stage::ready && stage_ != stage::authenticating) {
        // Not upgraded yet: there is no WebSocket to close politely; the pending connect or
        // upgrade fails and reports the end.
        beast::error_code ignored;
        ws_.next_layer().close(ignored);
        return;
    }
    if (!writing_)
        do_write();
}

void ws_peer::post_close()
{
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void ws_peer::fail(std::string why)
{
    if (stage_ == stage::closed)
        return;
    stage_ = stage::closed;
    beast::error_code ignored;
    // Queued messages stay until a pending write completes (with an error) and pops its own.
    ws_.next_layer().close(ignored);
    if (handlers_->on_closed)
        handlers_->on_closed(*this, why);
}

} // namespace relay::bench
