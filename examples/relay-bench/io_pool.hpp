#pragma once
/** @file The bench's client threads: a few io_contexts, one thread each, serving many
 * connections apiece (never a thread per connection). */
#include "bench_net.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace relay::bench {

/** `threads` io_contexts, each run by its own thread until stop(). */
class io_pool {
public:
    explicit io_pool(unsigned threads)
    {
        for (unsigned i = 0; i < threads; ++i) {
            // Each context is run by exactly one thread, so Asio may skip its internal locking.
            contexts_.push_back(std::make_unique<net::io_context>(1));
            guards_.emplace_back(contexts_.back()->get_executor());
        }
        for (auto& c : contexts_)
            threads_.emplace_back([&ctx = *c] { ctx.run(); });
    }

    ~io_pool() { stop(); }
    io_pool(io_pool const&) = delete;
    io_pool& operator=(io_pool const&) = delete;

    std::size_t size() const noexcept { return contexts_.size(); }
    /** Context `i` modulo the pool size: callers spread connections by their index. */
    net::io_context& context(std::size_t i) { return *contexts_[i % contexts_.size()]; }

    /** Runs `fn` on context `i`'s thread and waits for it: also a memory barrier with that
     * thread, so results it wrote can be read afterwards. */
    template <class F>
    void run_on(std::size_t i, F fn)
    {
        std::promise<void> done;
        net::post(context(i), [&] {
            fn();
            done.set_value();
        });
        done.get_future().wait();
    }

    /** Waits until every handler already queued on every context has run. */
    void barrier()
    {
        for (std::size_t i = 0; i < contexts_.size(); ++i)
            run_on(i, [] {});
    }

    /** Stops every context and joins the threads; pending handlers are abandoned. */
    void stop()
    {
        guards_.clear();
        for (auto& c : contexts_)
            c->stop();
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
    }

private:
    std::vector<std::unique_ptr<net::io_context>> contexts_;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
    std::vector<std::thread> threads_;
};

} // namespace relay::bench
