#pragma once
// Short names for Asio and Beast, and the clock every figure of the bench is read from.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>

namespace relay::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

/** Nanoseconds on the monotonic clock. Senders and receivers live in this one process, so a
 * send stamp and a receive stamp are always comparable. */
inline std::int64_t now_ns() noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace relay::bench
