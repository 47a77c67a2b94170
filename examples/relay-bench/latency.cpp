#include "latency.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace relay::bench {
namespace {

double round2(double v)
{
    return std::round(v * 100) / 100;
}

} // namespace

boost::json::object latency_summary::to_json() const
{
    return {{"count", count},         {"p50_us", round2(p50_us)}, {"p90_us", round2(p90_us)},
            {"p99_us", round2(p99_us)}, {"p999_us", round2(p999_us)}, {"max_us", round2(max_us)},
            {"mean_us", round2(mean_us)}};
}

latency_summary summarize(std::vector<std::int64_t>& samples_ns)
{
    latency_summary s;
    s.count = samples_ns.size();
    if (samples_ns.empty())
        return s;
    std::sort(samples_ns.begin(), samples_ns.end());
    auto at = [&](double q) {
        // Nearest rank: the smallest sample with at least q of all samples at or below it.
        auto rank = static_cast<std::size_t>(std::ceil(q * double(samples_ns.size())));
        return double(samples_ns[std::clamp<std::size_t>(rank, 1, samples_ns.size()) - 1]) / 1000.0;
    };
    s.p50_us = at(0.50);
    s.p90_us = at(0.90);
    s.p99_us = at(0.99);
    s.p999_us = at(0.999);
    s.max_us = double(samples_ns.back()) / 1000.0;
    s.mean_us = std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0) / double(samples_ns.size()) / 1000.0;
    return s;
}

} // namespace relay::bench
