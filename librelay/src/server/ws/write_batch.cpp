#include "server/ws/write_batch.hpp"

#include "server/http/maybe_tls_stream.hpp"

#include <boost/assert.hpp>

#include <algorithm>

namespace relay::server {
namespace {
// Handlers run between two flushes on a busy thread: enough for big batches, few enough that
// a frame never waits long behind a stream of input.
constexpr int handlers_per_turn = 1024;

/** Polls `context` until a handler runs (true) or `how_long` has passed or it stopped (false). */
bool poll_for(net::io_context& context, std::chrono::microseconds how_long)
{
    auto until = std::chrono::steady_clock::now() + how_long;
    do {
        if (context.poll_one() > 0)
            return true;
    } while (!context.stopped() && std::chrono::steady_clock::now() < until);
    return false;
}
} // namespace

void write_batcher::add(std::shared_ptr<write_batch> batch, net::any_io_executor const& ex)
{
    pending_.push_back(std::move(batch));
    if (!driven_ && !flush_posted_) {
        flush_posted_ = true;
        net::post(ex, [this] {
            flush_posted_ = false;
            flush();
        });
    }
}

void write_batcher::flush()
{
    // A flush can register batches again (a failed write completing at once); those wait for
    // the next turn.
    flushing_.swap(pending_);
    for (auto& b : flushing_)
        b->flush();
    flushing_.clear();
}

void write_batcher::holding(std::shared_ptr<write_batch> const& batch)
{
    // Listed once however often it parks, so a chronically slow peer cannot grow the list.
    if (batch->listed_)
        return;
    if (holding_.size() >= prune_at_) {
        std::erase_if(holding_, [](auto const& w) {
            auto b = w.lock();
            if (b && b->holds_handler())
                return false;
            if (b)
                b->listed_ = false;
            return true;
        });
        prune_at_ = std::max<std::size_t>(64, 2 * holding_.size());
    }
    batch->listed_ = true;
    holding_.push_back(batch);
}

void write_batcher::shutdown()
{
    pending_.clear();
    flushing_.clear();
    // Dropping a handler can end its session and so the batch: keep each alive meanwhile.
    auto holding = std::move(holding_);
    for (auto& w : holding)
        if (auto b = w.lock())
            b->drop_handlers();
}

void write_batcher::drive(net::io_context& context, std::chrono::microseconds busy_poll)
{
    auto& batcher = net::use_service<write_batcher>(context);
    batcher.driven_ = true;
    // Run some other way afterwards (a restart, a test), the batcher posts its flushes again.
    struct undrive {
        write_batcher& b;
        ~undrive() { b.driven_ = false; }
    } undrive{batcher};
    for (;;) {
        int ran = 0;
        while (ran < handlers_per_turn && context.poll_one() > 0)
            ++ran;
        batcher.flush();
        if (context.stopped())
            return;
        if (ran == handlers_per_turn)
            continue;
        // Nothing was ready: sleep until something is (one handler), then take the rest. If
        // asked, poll a while first: the next message often comes within microseconds (the
        // answer to what was just sent), sooner than a sleeping thread wakes.
        if (busy_poll.count() > 0 && poll_for(context, busy_poll))
            continue;
        if (context.run_one() == 0)
            return;
    }
}

void write_batch::flush()
{
    registered_ = false;
    // The session is kept alive until the write completes: the socket (and, with TLS, the
    // SSL stream's state) must outlive the operation. A session already going away writes
    // nothing more.
    auto keep = keeper_.lock();
    if (!keep || !owner_ || writing_ || out_.empty() || error_)
        return;
    writing_ = true;
    sending_.swap(out_);
    owner_->write_now(net::buffer(sending_), [self = shared_from_this(), keep = std::move(keep)](
                                                 beast::error_code ec, std::size_t) { self->on_written(ec); });
}

void write_batch::on_written(beast::error_code ec)
{
    writing_ = false;
    // Idle connections keep no buffer.
    std::string().swap(sending_);
    if (ec) {
        error_ = ec;
        std::string().swap(out_);
    }
    if (parked_) {
        auto h = std::move(*parked_);
        parked_.reset();
        net::post(ex_, beast::bind_front_handler(std::move(h), error_, error_ ? std::size_t{0} : parked_bytes_));
    }
    if (!out_.empty() && !error_ && !registered_) {
        registered_ = true;
        batcher_.add(shared_from_this(), ex_);
    }
    if (idle_waiter_ && idle()) {
        auto h = std::move(*idle_waiter_);
        idle_waiter_.reset();
        std::move(h)();
    }
    // Drained and healthy: the stream lets go until its next write (an error must stay, so
    // that later writes fail rather than start afresh).
    if (owner_ && !writing_ && out_.empty() && !error_ && !parked_ && !idle_waiter_ && !registered_) {
        auto* owner = owner_;
        owner_ = nullptr;
        owner->release_batch(this);
    }
}

void write_batch::when_idle(idle_handler h)
{
    BOOST_ASSERT(!idle_waiter_); // Beast tears a stream down once
    if (idle()) {
        net::post(ex_, std::move(h));
        return;
    }
    idle_waiter_.emplace(std::move(h));
    batcher_.holding(shared_from_this());
}

} // namespace relay::server
