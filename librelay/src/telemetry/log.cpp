#include <relay/telemetry/log.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include <ctime>

namespace relay::telemetry {
namespace {

std::string now_iso8601()
{
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
    std::time_t t = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:03}Z", buf, ms);
}

// A text value is quoted when it would otherwise be ambiguous to split on spaces.
void append_text_value(std::string& out, std::string_view v)
{
    bool plain = !v.empty();
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20)
            plain = false;
    if (plain) {
        out += v;
        return;
    }
    out += boost::json::serialize(boost::json::string(v));
}

} // namespace

std::string_view to_string(log_level level) noexcept
{
    switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    }
    return "info";
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept
{
    for (auto l : {log_level::debug, log_level::info, log_level::warn, log_level::error})
        if (to_string(l) == text)
            return l;
    return std::nullopt;
}

std::optional<log_format> parse_log_format(std::string_view text) noexcept
{
    if (text == "text") return log_format::text;
    if (text == "json") return log_format::json;
    return std::nullopt;
}

logger::logger(log_level level, log_format format, std::FILE* sink) noexcept
    : level_(level), format_(format), sink_(sink)
{
}

void logger::log(log_level level, std::string_view event, std::initializer_list<log_field> fields)
{
    std::string line;
    line.reserve(128);
    if (format_ == log_format::json) {
        line += R"({"ts":")";
        line += now_iso8601();
        line += R"(","level":")";
        line += to_string(level);
        line += R"(","event":)";
        line += boost::json::serialize(boost::json::string(event));
        for (auto const& f : fields) {
            line += ',';
            line += boost::json::serialize(boost::json::string(f.key));
            line += ':';
            std::visit(
                [&](auto const& v) {
                    using V = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<V, std::string_view>)
                        line += boost::json::serialize(boost::json::string(v));
                    else if constexpr (std::is_same_v<V, bool>)
                        line += v ? "true" : "false";
                    else
                        line += fmt::format("{}", v);
                },
                f.value);
        }
        line += "}\n";
    } else {
        line += now_iso8601();
        line += ' ';
        line += to_string(level);
        line += ' ';
        line += event;
        for (auto const& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            std::visit(
                [&](auto const& v) {
                    using V = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<V, std::string_view>)
                        append_text_value(line, v);
                    else if constexpr (std::is_same_v<V, bool>)
                        line += v ? "true" : "false";
                    else
                        line += fmt::format("{}", v);
                },
                f.value);
        }
        line += '\n';
    }
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), sink_);
    std::fflush(sink_);
}

} // namespace relay::telemetry
