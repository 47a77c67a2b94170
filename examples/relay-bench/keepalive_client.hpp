#pragma once
/** @file One keep-alive HTTP/1.1 connection of a load client: opened on first use, reopened after
 * the server closed it or an exchange failed. The tunnel and api scenarios drive many of them. */
#include "bench_net.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <string>

namespace relay::bench {

/** A client connection owned by one coroutine (never shared between coroutines). */
class keepalive_client {
public:
    using request = beast::http::request<beast::http::string_body>;
    using response = beast::http::response<beast::http::string_body>;

    keepalive_client(net::any_io_executor executor, tcp::endpoint server, double timeout_s);

    /** Writes `req` and reads the answer into `res` (connecting first when needed). False, with
     * `why`, when the connect, write or read failed; the connection is then closed, and after a
     * failed connect the call pauses briefly so a refusing server is not spun against. */
    net::awaitable<bool> exchange(request const& req, response& res, std::string& why);

    /** Connections opened after the first, by the server's choice or after an error. */
    std::uint64_t reconnects() const noexcept { return reconnects_; }

    /** `host:port` for the Host header. */
    std::string host() const;

    /** Ends the connection politely. */
    void shutdown();

private:
    void drop();

    tcp::endpoint server_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::chrono::steady_clock::duration timeout_;
    bool open_ = false, first_ = true;
    std::uint64_t reconnects_ = 0;
};

} // namespace relay::bench
