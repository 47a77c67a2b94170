#pragma once
/** @file Prometheus metrics: counters, gauges and histograms, rendered in the text format. */
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::telemetry {

/** Label pairs of one series, e.g. {{"type","event"},{"direction","in"}}. */
using labels = std::vector<std::pair<std::string, std::string>>;

/** A monotonically increasing count. Lock-free; safe from any thread. */
class counter {
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

/** A value that goes up and down. Lock-free; safe from any thread. */
class gauge {
public:
    void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(std::int64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    void sub(std::int64_t n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

/** Cumulative-bucket histogram of observations (e.g. seconds). Lock-free observe(). */
class histogram {
public:
    explicit histogram(std::vector<double> upper_bounds);
    void observe(double v) noexcept;
    std::vector<double> const& bounds() const noexcept { return bounds_; }
    /** Count of observations <= bounds()[i] (non-cumulative per bucket; +Inf last). */
    std::uint64_t bucket_count(std::size_t i) const noexcept { return counts_[i].load(std::memory_order_relaxed); }
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    double sum() const noexcept;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; // bounds_.size() + 1 (+Inf)
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_micro_{0}; // sum in millionths, kept integral for atomics
};

/** Bucket bounds for latencies in seconds, 50 µs to 10 s. */
std::vector<double> latency_buckets();

/**
 * Owns every metric of a process. Look-ups take a mutex, so hot paths look a series up once
 * and keep the returned reference (addresses are stable for the registry's lifetime).
 */
class registry {
public:
    counter& get_counter(std::string_view name, std::string_view help, labels const& l = {});
    gauge& get_gauge(std::string_view name, std::string_view help, labels const& l = {});
    histogram& get_histogram(std::string_view name, std::string_view help, labels const& l = {},
                             std::vector<double> const& bounds = latency_buckets());

    /** Everything in the Prometheus text exposition format (version 0.0.4). */
    std::string render() const;

private:
    enum class kind { counter, gauge, histogram };
    struct family {
        kind type;
        std::string help;
        std::map<std::string, std::unique_ptr<counter>> counters;      // by rendered labels
        std::map<std::string, std::unique_ptr<gauge>> gauges;
        std::map<std::string, std::unique_ptr<histogram>> histograms;
    };
    family& family_for(std::string_view name, std::string_view help, kind type);

    mutable std::mutex mutex_; // guards families_ (not the metric values, which are atomic)
    std::map<std::string, family, std::less<>> families_;
};

} // namespace relay::telemetry
