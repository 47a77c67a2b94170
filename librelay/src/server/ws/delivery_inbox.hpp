#pragma once
// The per-thread FIFO through which other threads hand work to the app sessions of one
// io_context (see delivery_inbox below).
#include "server/net.hpp"

#include <relay/protocol/common.hpp>
#include <relay/routing/broker.hpp>

#include <boost/asio/execution_context.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace relay::server {

class app_session;

/**
 * Everything other threads hand to the apps of one io_context — events, frames (command
 * results, signaling), access changes and ended logins — in one FIFO: one post wakes the
 * thread, which then takes everything that arrived meanwhile, instead of one post (and its
 * allocation and queue lock) per message per app. One FIFO keeps their order, e.g. a revocation is applied before
 * any event published after it. Guarded by mutex_; drained on its own thread.
 */
class delivery_inbox : public net::execution_context::service {
public:
    using key_type = delivery_inbox;
    static inline net::execution_context::id id;

    struct item {
        enum class kind : std::uint8_t { event, frame, access, login_end };
        kind what;
        std::shared_ptr<app_session> app;
        std::string channel;               // event, access: the device; login_end: the login
        routing::channel_message message;  // event; frame: only .frame
        std::optional<protocol::role> role; // access
    };

    explicit delivery_inbox(net::execution_context& context) : net::execution_context::service(context) {}

    /**
     * Queues `i`. An event published on the app's own thread (a robot on the same thread) is
     * handled at once when nothing is waiting here; everything else waits its turn.
     */
    void push(item i, bool own_thread, net::any_io_executor const& ex);

private:
    static void run(item& i);

    void drain();

    void shutdown() override;

    std::mutex mutex_; // guards items_ and posted_
    std::vector<item> items_;
    bool posted_ = false;
};

} // namespace relay::server
