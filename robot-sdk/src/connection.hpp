#pragma once
// One attempt at a connection to the relay, from name resolution to the end of the socket:
// the only code that touches Beast. The client core makes a new one per attempt; it reports
// back exactly once through client_core::on_connection_ended. Every member function runs on
// the core's strand.
#include "client_core.hpp"

#include <cstdint>
#include <memory>

namespace relay::robot::detail {

class connection {
public:
    explicit connection(std::uint64_t generation) : generation_(generation) {}
    virtual ~connection() = default;
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;

    /** Resolves, connects, upgrades and authenticates; then reads until the connection ends. */
    virtual void start() = 0;
    /** Queues a message for this connection only (replies, signaling, hello). */
    virtual void send(frame_ptr frame) = 0;
    /** Writes whatever is waiting (outbox, queued messages, a flush barrier) if it can. */
    virtual void pump() = 0;
    /** The WebSocket closing handshake (bounded by close_timeout), for stop(). */
    virtual void close() = 0;

    std::uint64_t generation() const noexcept { return generation_; }
    bool authenticated() const noexcept { return authenticated_; }

protected:
    std::uint64_t const generation_;
    bool authenticated_ = false;
};

/** A connection to core->url_ over plain TCP or TLS as the URL says. */
std::shared_ptr<connection> make_connection(std::shared_ptr<client_core> core, std::uint64_t generation);

} // namespace relay::robot::detail
