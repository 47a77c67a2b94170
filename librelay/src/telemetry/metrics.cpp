#include <relay/telemetry/metrics.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace relay::telemetry {
namespace {

std::string escape_label(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

// Labels rendered once, sorted, so the same set always names the same series.
std::string render_labels(labels l)
{
    if (l.empty())
        return {};
    std::sort(l.begin(), l.end());
    std::string out = "{";
    for (std::size_t i = 0; i < l.size(); ++i) {
        if (i) out += ',';
        out += l[i].first;
        out += "=\"";
        out += escape_label(l[i].second);
        out += '"';
    }
    out += '}';
    return out;
}

// Adds one more label to an already rendered label set ("{a="b"}" + le → "{a="b",le="0.1"}").
std::string with_label(std::string const& rendered, std::string_view key, std::string_view value)
{
    std::string extra = fmt::format("{}=\"{}\"", key, value);
    if (rendered.empty())
        return "{" + extra + "}";
    return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

std::string format_bound(double b)
{
    return fmt::format("{}", b);
}

} // namespace

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1))
{
    std::sort(bounds_.begin(), bounds_.end());
}

void histogram::observe(double v) noexcept
{
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    if (v > 0 && std::isfinite(v))
        sum_micro_.fetch_add(static_cast<std::uint64_t>(v * 1e6), std::memory_order_relaxed);
}

double histogram::sum() const noexcept
{
    return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6;
}

std::vector<double> latency_buckets()
{
    return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

registry::family& registry::family_for(std::string_view name, std::string_view help, kind type)
{
    auto it = families_.find(name);
    if (it == families_.end())
        it = families_.emplace(std::string(name), family{type, std::string(help), {}, {}, {}}).first;
    else if (it->second.type != type)
        // Registering one name as two kinds is a programming error, found by the first test run.
        throw std::logic_error(fmt::format("metric {} registered with two types", name));
    return it->second;
}

namespace {

/** The metric stored under `key`, made with `args` the first time it is asked for. */
template <class Metric, class... Args>
Metric& metric_at(std::map<std::string, std::unique_ptr<Metric>>& metrics, std::string key, Args const&... args)
{
    auto& slot = metrics[std::move(key)];
    if (!slot)
        slot = std::make_unique<Metric>(args...);
    return *slot;
}

} // namespace

counter& registry::get_counter(std::string_view name, std::string_view help, labels const& l)
{
    std::lock_guard lock(mutex_);
    return metric_at(family_for(name, help, kind::counter).counters, render_labels(l));
}

gauge& registry::get_gauge(std::string_view name, std::string_view help, labels const& l)
{
    std::lock_guard lock(mutex_);
    return metric_at(family_for(name, help, kind::gauge).gauges, render_labels(l));
}

histogram& registry::get_histogram(std::string_view name, std::string_view help, labels const& l,
                                   std::vector<double> const& bounds)
{
    std::lock_guard lock(mutex_);
    return metric_at(family_for(name, help, kind::histogram).histograms, render_labels(l), bounds);
}

std::string registry::render() const
{
    std::lock_guard lock(mutex_);
    std::string out;
    out.reserve(4096);
    for (auto const& [name, f] : families_) {
        std::string_view type = f.type == kind::counter ? "counter" : f.type == kind::gauge ? "gauge" : "histogram";
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, type);
        for (auto const& [l, c] : f.counters)
            out += fmt::format("{}{} {}\n", name, l, c->value());
        for (auto const& [l, g] : f.gauges)
            out += fmt::format("{}{} {}\n", name, l, g->value());
        for (auto const& [l, h] : f.histograms) {
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < h->bounds().size(); ++i) {
                cumulative += h->bucket_count(i);
                out += fmt::format("{}_bucket{} {}\n", name, with_label(l, "le", format_bound(h->bounds()[i])),
                                   cumulative);
            }
            cumulative += h->bucket_count(h->bounds().size());
            out += fmt::format("{}_bucket{} {}\n", name, with_label(l, "le", "+Inf"), cumulative);
            out += fmt::format("{}_sum{} {}\n", name, l, h->sum());
            out += fmt::format("{}_count{} {}\n", name, l, h->count());
        }
    }
    return out;
}

} // namespace relay::telemetry
