#pragma once
// Bounded waits for the cluster tests: poll a condition until it holds or a deadline passes
// (never a bare sleep standing in for "nothing happened").
#include <chrono>
#include <thread>

namespace relay::test {

/** Polls `condition` until it holds or `limit` passes; whether it held. */
template <class F> bool eventually(F condition, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

} // namespace relay::test
