#pragma once
/** @file Latency samples and their percentiles. */
#include <boost/json/object.hpp>

#include <cstdint>
#include <vector>

namespace relay::bench {

/** Percentiles of a set of samples, in microseconds (nearest rank). */
struct latency_summary {
    std::size_t count = 0;
    double p50_us = 0;
    double p90_us = 0;
    double p99_us = 0;
    double p999_us = 0;
    double max_us = 0;
    double mean_us = 0;

    /** {"count","p50_us","p90_us","p99_us","p999_us","max_us","mean_us"}. */
    boost::json::object to_json() const;
};

/** Summarises samples given in nanoseconds; sorts them in place. */
latency_summary summarize(std::vector<std::int64_t>& samples_ns);

} // namespace relay::bench
