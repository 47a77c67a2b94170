#pragma once
/** @file A scenario's result: one JSON line for machines, then a table for people. */
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <vector>

namespace relay::bench {

class report {
public:
    explicit report(std::string scenario) : scenario_(std::move(scenario)) {}

    /** A setting the run used (scenario shape, relay settings); JSON only. */
    void config(std::string const& key, boost::json::value value) { config_[key] = std::move(value); }

    /** A measured figure, shown in both outputs. `target` is the target in words
     * (empty when there is none) and `met` whether the figure reaches it. */
    void figure(std::string const& key, std::string label, boost::json::value value, std::string unit,
                std::string target = {}, std::optional<bool> met = std::nullopt);

    /** Something worth knowing about the run (errors, drops, retries); shown in both outputs. */
    void note(std::string text) { notes_.push_back(std::move(text)); }

    /** Prints the JSON line, then (unless json_only) the table. */
    void print(bool json_only) const;

private:
    struct row {
        std::string key;
        std::string label;
        boost::json::value value;
        std::string unit;
        std::string target;
        std::optional<bool> met;
    };
    std::string scenario_;
    boost::json::object config_;
    std::vector<row> rows_;
    std::vector<std::string> notes_;
};

} // namespace relay::bench
