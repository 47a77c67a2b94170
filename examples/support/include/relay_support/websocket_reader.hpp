#pragma once
/** @file Reads a Beast WebSocket one message at a time with a time-out, on a thread that runs the
 * stream's io_context itself. A read that times out stays pending and the next call picks it up,
 * so no message is lost and the connection is not broken. websocket_client and the tests' fake
 * relay (the server end of a connection) share it. */
#include "relay_support/client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <chrono>
#include <cstdint>

namespace relay::support {

/** Reads and closes `WebSocket` (a boost::beast::websocket::stream); not thread-safe: the one
 * thread that runs `ioc`. */
template <class WebSocket> class websocket_reader {
public:
    websocket_reader(boost::asio::io_context& ioc, WebSocket& ws) : ioc_(ioc), ws_(ws) {}
    websocket_reader(websocket_reader const&) = delete;
    websocket_reader& operator=(websocket_reader const&) = delete;

    /** The next message, or why there is none. Once the connection has ended, every read says how. */
    websocket_read read(std::chrono::milliseconds timeout)
    {
        if (ended_)
            return end_;
        if (!reading_) {
            reading_ = true;
            done_ = false;
            ws_.async_read(buffer_, [this](boost::system::error_code ec, std::size_t) {
                read_ec_ = ec;
                done_ = true;
            });
        }
        if (!run_until(ioc_, done_, timeout))
            return {}; // timed out; the read stays pending for the next call
        reading_ = false;
        if (read_ec_) {
            ended_ = true;
            auto const& r = ws_.reason();
            end_.close_code = static_cast<std::uint16_t>(r.code);
            if (read_ec_ == boost::beast::websocket::error::closed) {
                end_.what = websocket_read::result::closed;
                end_.close_reason = std::string(r.reason.data(), r.reason.size());
            } else {
                end_.what = websocket_read::result::failed;
                end_.error = read_ec_.message();
            }
            return end_;
        }
        websocket_read out;
        out.what = websocket_read::result::message;
        out.text = boost::beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        return out;
    }

    /** Closes with `code`, waiting up to `limit` for the peer's answer, and lets a pending read
     * see the end (best effort). */
    void close(std::uint16_t code, std::chrono::milliseconds limit)
    {
        if (!ws_.is_open() || ended_)
            return;
        bool closed = false;
        ws_.async_close(boost::beast::websocket::close_reason(code), [&](boost::system::error_code) { closed = true; });
        run_until(ioc_, closed, limit);
        if (reading_)
            run_until(ioc_, done_, limit);
        ended_ = true;
        end_.what = websocket_read::result::closed;
    }

    /** Whether the connection has ended (closed by either end, or failed). */
    bool ended() const noexcept { return ended_; }

private:
    boost::asio::io_context& ioc_;
    WebSocket& ws_;
    boost::beast::flat_buffer buffer_;
    bool reading_ = false;
    bool done_ = false;
    boost::system::error_code read_ec_;
    bool ended_ = false;
    websocket_read end_; ///< what every read says once the connection has ended
};

} // namespace relay::support
