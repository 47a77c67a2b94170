#pragma once
/** @file The robot's own REST API, played by a small Beast server on 127.0.0.1: what the tunnel
 * scenario reaches directly and through the relay. */
#include "bench_net.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace relay::bench {

/** Answers `GET /status` with a small JSON document (plus `padding` bytes in its "pad" member)
 * and anything else with 404, on one thread of its own, keep-alive or not as the client asks. */
class local_api {
public:
    /** Listens on 127.0.0.1 at a free port and starts serving. */
    explicit local_api(std::size_t padding);
    /** Stops serving and joins the thread. */
    ~local_api();
    local_api(local_api const&) = delete;
    local_api& operator=(local_api const&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /** The size of the /status answer's body. */
    std::size_t status_bytes() const noexcept { return status_body_.size(); }
    /** Requests answered so far (any thread). */
    std::uint64_t requests() const noexcept { return requests_.load(std::memory_order_relaxed); }

private:
    net::awaitable<void> accept_loop();
    net::awaitable<void> serve(tcp::socket socket);

    // Coroutines run on thread_ only and end before the members they use: the destructor stops
    // ioc_ and joins thread_ first.
    net::io_context ioc_{1};
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::string const status_body_;
    std::atomic<std::uint64_t> requests_{0};
    std::thread thread_;
};

} // namespace relay::bench
