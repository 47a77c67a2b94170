#pragma once
// Runs blocking work (store queries, password hashing) on the blocking pool and resumes the
// calling coroutine on its own executor, so network threads never wait on disk or the KDF.
#include "server/net.hpp"

#include <type_traits>
#include <utility>

namespace relay::server {

/**
 * Runs `f()` on `pool` and returns its result to the awaiting coroutine. `f` must capture by
 * reference only (what it refers to lives in the awaiting coroutine's frame): GCC 12 destroys a
 * non-trivially-destructible temporary inside a co_await expression twice, so a closure holding
 * strings or shared_ptrs by value would be freed twice.
 */
template <class F>
net::awaitable<std::invoke_result_t<F&>> run_blocking(net::thread_pool& pool, F f)
{
    static_assert(std::is_trivially_destructible_v<F>,
                  "run_blocking: capture by reference ([&]); see the GCC 12 note above");
    using result_type = std::invoke_result_t<F&>;
    // co_spawn delivers the result through the awaiting coroutine's executor.
    co_return co_await net::co_spawn(
        pool.get_executor(),
        [f = std::move(f)]() mutable -> net::awaitable<result_type> { co_return f(); },
        net::use_awaitable);
}

} // namespace relay::server
