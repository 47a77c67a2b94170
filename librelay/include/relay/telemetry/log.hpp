#pragma once
/** @file Structured logging: one line per event worth knowing, as text or JSON. */
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace relay::telemetry {

enum class log_level { debug, info, warn, error };
enum class log_format { text, json };

/** "debug", "info", "warn", "error"; parse returns nullopt for anything else. */
std::string_view to_string(log_level level) noexcept;
std::optional<log_level> parse_log_level(std::string_view text) noexcept;
std::optional<log_format> parse_log_format(std::string_view text) noexcept;

/** One key=value of a log line. Values are copied into the line, never kept. */
struct log_field {
    using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

    template <class T>
    log_field(std::string_view k, T const& v) : key(k), value(convert(v))
    {
    }

    std::string_view key;
    value_type value;

private:
    template <class T> static value_type convert(T const& v)
    {
        if constexpr (std::is_same_v<T, bool>)
            return v;
        else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
            return static_cast<std::int64_t>(v);
        else if constexpr (std::is_integral_v<T>)
            return static_cast<std::uint64_t>(v);
        else if constexpr (std::is_floating_point_v<T>)
            return static_cast<double>(v);
        else
            return std::string_view(v);
    }
};

/**
 * A logger writes whole lines to a FILE* under a mutex (lines from several threads never
 * interleave). It is created by the program and passed down, never global. Secrets and tokens
 * must never be passed as fields.
 */
class logger {
public:
    explicit logger(log_level level = log_level::info, log_format format = log_format::text,
                    std::FILE* sink = stderr) noexcept;

    bool enabled(log_level level) const noexcept { return level >= level_; }
    log_level level() const noexcept { return level_; }
    log_format format() const noexcept { return format_; }

    /** Writes `event` with its fields if `level` is enabled. */
    void log(log_level level, std::string_view event, std::initializer_list<log_field> fields = {});

    void debug(std::string_view event, std::initializer_list<log_field> fields = {})
    {
        if (enabled(log_level::debug)) log(log_level::debug, event, fields);
    }
    void info(std::string_view event, std::initializer_list<log_field> fields = {})
    {
        if (enabled(log_level::info)) log(log_level::info, event, fields);
    }
    void warn(std::string_view event, std::initializer_list<log_field> fields = {})
    {
        if (enabled(log_level::warn)) log(log_level::warn, event, fields);
    }
    void error(std::string_view event, std::initializer_list<log_field> fields = {})
    {
        if (enabled(log_level::error)) log(log_level::error, event, fields);
    }

private:
    log_level level_;
    log_format format_;
    std::FILE* sink_;
    std::mutex mutex_; // guards writes to sink_
};

} // namespace relay::telemetry
