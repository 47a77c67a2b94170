#include "report.hpp"

#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

namespace relay::bench {
namespace {

std::string show(boost::json::value const& v)
{
    if (v.is_double())
        return fmt::format("{:.2f}", v.get_double());
    if (v.is_string())
        return std::string(v.get_string());
    return boost::json::serialize(v);
}

/** Figures keep the precision a reader can use: whole numbers from 100 up, else 2 decimals. */
boost::json::value rounded(boost::json::value v)
{
    if (!v.is_double())
        return v;
    double d = v.get_double();
    if (!std::isfinite(d))
        return nullptr;
    if (std::abs(d) >= 100)
        return static_cast<std::int64_t>(std::llround(d));
    return std::round(d * 100) / 100;
}

/** JSON text with doubles in plain decimal (85.93, not Boost.JSON's 8.593E1), for readers of the line. */
void write_json(std::string& out, boost::json::value const& v)
{
    switch (v.kind()) {
    case boost::json::kind::double_:
        if (std::isfinite(v.get_double()))
            out += fmt::format("{}", v.get_double());
        else
            out += "null";
        break;
    case boost::json::kind::object: {
        out += '{';
        bool first = true;
        for (auto const& [k, item] : v.get_object()) {
            if (!first)
                out += ',';
            first = false;
            out += boost::json::serialize(boost::json::string(k));
            out += ':';
            write_json(out, item);
        }
        out += '}';
        break;
    }
    case boost::json::kind::array: {
        out += '[';
        bool first = true;
        for (auto const& item : v.get_array()) {
            if (!first)
                out += ',';
            first = false;
            write_json(out, item);
        }
        out += ']';
        break;
    }
    default:
        out += boost::json::serialize(v);
    }
}

} // namespace

void report::figure(std::string const& key, std::string label, boost::json::value value, std::string unit,
                    std::string target, std::optional<bool> met)
{
    rows_.push_back({key, std::move(label), rounded(std::move(value)), std::move(unit), std::move(target), met});
}

void report::print(bool json_only) const
{
    boost::json::object results, targets;
    for (auto const& r : rows_) {
        results[r.key] = r.value;
        if (!r.target.empty())
            targets[r.key] = boost::json::object{{"target", r.target},
                                                 {"met", r.met ? boost::json::value(*r.met) : boost::json::value()}};
    }
    boost::json::object line{{"scenario", scenario_}, {"config", config_}, {"results", results}};
    if (!targets.empty())
        line["targets"] = targets;
    if (!notes_.empty()) {
        boost::json::array notes;
        for (auto const& n : notes_)
            notes.emplace_back(n);
        line["notes"] = notes;
    }
    std::string text;
    write_json(text, line);
    fmt::print("{}\n", text);
    if (json_only) {
        std::fflush(stdout);
        return;
    }
    std::size_t label_w = 6, value_w = 5, target_w = 6;
    for (auto const& r : rows_) {
        label_w = std::max(label_w, r.label.size());
        value_w = std::max(value_w, show(r.value).size() + 1 + r.unit.size());
        target_w = std::max(target_w, r.target.size());
    }
    fmt::print("\n{}\n", scenario_);
    fmt::print("  {:<{}}  {:>{}}  {:<{}}  {}\n", "figure", label_w, "value", value_w, "target", target_w, "");
    fmt::print("  {:-<{}}  {:->{}}  {:-<{}}  {}\n", "", label_w, "", value_w, "", target_w, "----");
    for (auto const& r : rows_) {
        auto value = show(r.value) + (r.unit.empty() ? "" : " " + r.unit);
        std::string verdict = !r.met ? "" : *r.met ? "met" : "MISSED";
        fmt::print("  {:<{}}  {:>{}}  {:<{}}  {}\n", r.label, label_w, value, value_w, r.target, target_w, verdict);
    }
    for (auto const& n : notes_)
        fmt::print("  note: {}\n", n);
    fmt::print("\n");
    std::fflush(stdout);
}

} // namespace relay::bench
