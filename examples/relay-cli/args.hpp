#pragma once
// Command-line parsing for relay-cli: every command declares which flags it takes, so a typo
// is an error rather than silently ignored.
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace relay::cli {

/** A mistake in how the command was called: printed with a pointer to --help, exit status 2. */
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/** Flags and positional arguments of one command. */
struct parsed_args {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> values; ///< flags with values, each occurrence
    std::set<std::string> switches;                         ///< flags without values that were given

    bool has(std::string const& flag) const { return switches.count(flag) || values.count(flag); }
    /** The last value of a flag, if given. */
    std::optional<std::string> value(std::string const& flag) const;
};

/**
 * Parses `args`: `--flag VALUE`, `--flag=VALUE` for flags in `value_flags`, `--flag` for
 * `switch_flags`, `-H` style short flags as listed, and `--` ending the flags. Throws usage_error.
 */
parsed_args parse_args(std::vector<std::string> const& args, std::set<std::string> const& value_flags,
                       std::set<std::string> const& switch_flags);

/** A positive number of seconds ("2.5"); throws usage_error naming `flag`. */
double seconds_arg(std::string const& flag, std::string const& text);

} // namespace relay::cli
