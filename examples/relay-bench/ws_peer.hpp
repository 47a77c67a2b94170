#pragma once
/** @file One app or robot WebSocket connection of the bench: connects from a chosen loopback
 * source address, authenticates as the contract says (bearer header for apps, challenge and
 * HMAC answer for robots), then hands every message to its scenario. Callback style, so a
 * thread serves thousands of them. */
#include "bench_net.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace relay::bench {

class ws_peer;

/** What a scenario does with its peers' events. One set is shared by many peers to keep each
 * peer small; every call happens on the peer's own io_context thread. */
struct peer_handlers {
    /** Authenticated: auth_ok was received. */
    std::function<void(ws_peer&)> on_ready;
    /** A message after auth_ok; the view is valid during the call only. */
    std::function<void(ws_peer&, std::string_view)> on_message;
    /** The connection ended, or never got ready; `why` names the step and the error. */
    std::function<void(ws_peer&, std::string const& why)> on_closed;
};

/** Where every peer connects; shared. */
struct peer_endpoint {
    tcp::endpoint relay;
    std::string host_header; ///< "127.0.0.1:PORT"
};

/** Who a peer is: an app with an access token, or a robot with its device secret. */
struct peer_identity {
    bool robot = false;
    std::string token;
    std::string device_id;
    std::string secret;
};

/** One connection. Created by the coordinating thread, started with start(), then touched only
 * on its own io_context thread (send, close and the handlers). */
class ws_peer : public std::enable_shared_from_this<ws_peer> {
public:
    /** `index` and `context_index` are the scenario's to use (e.g. which robot, which counters). */
    ws_peer(net::io_context& ioc, std::shared_ptr<peer_endpoint const> endpoint, net::ip::address_v4 source,
            peer_identity identity, std::shared_ptr<peer_handlers const> handlers, std::size_t index,
            std::size_t context_index);
    ws_peer(ws_peer const&) = delete;
    ws_peer& operator=(ws_peer const&) = delete;

    /** Thread-safe: connects, upgrades and authenticates on the peer's own thread. */
    void start();
    /** Own thread: queues a text message; one write is in flight at a time. */
    void send(std::string text);
    /** Own thread: sends a close frame (1000) once queued messages are out. */
    void close();
    /** Thread-safe: close() on the peer's own thread. */
    void post_close();

    net::any_io_executor executor() { return ws_.get_executor(); }
    std::size_t index() const noexcept { return index_; }
    std::size_t context_index() const noexcept { return context_index_; }
    std::string const& device_id() const noexcept { return identity_.device_id; }
    bool was_ready() const noexcept { return ready_ns_ != 0; }
    /** Steady-clock nanoseconds when start() ran on the peer's thread and when auth_ok came. */
    std::int64_t started_ns() const noexcept { return started_ns_; }
    std::int64_t ready_ns() const noexcept { return ready_ns_; }
    /** When the TCP connection was established and when the upgrade was answered (0 = not yet). */
    std::int64_t connected_ns() const noexcept { return connected_ns_; }
    std::int64_t upgraded_ns() const noexcept { return upgraded_ns_; }
    /** The close code the relay sent, 0 when none. */
    std::uint16_t close_code() const noexcept { return close_code_; }

private:
    enum class stage { idle, connecting, upgrading, authenticating, ready, closed };

    void do_connect();
    void on_connect(beast::error_code ec);
    void on_upgrade(beast::error_code ec);
    void do_read();
    void on_read(beast::error_code ec);
    void on_auth_message(std::string_view text);
    void do_write();
    void fail(std::string why);

    beast::websocket::stream<tcp::socket> ws_;
    std::shared_ptr<peer_endpoint const> endpoint_;
    net::ip::address_v4 source_;
    peer_identity identity_;
    std::shared_ptr<peer_handlers const> handlers_;
    std::size_t index_;
    std::size_t context_index_;
    beast::flat_buffer buffer_;
    std::deque<std::string> queue_;
    bool writing_ = false;
    bool closing_ = false;
    stage stage_ = stage::idle;
    std::int64_t started_ns_ = 0;
    std::int64_t ready_ns_ = 0;
    std::int64_t connected_ns_ = 0;
    std::int64_t upgraded_ns_ = 0;
    std::uint16_t close_code_ = 0;
};

} // namespace relay::bench
