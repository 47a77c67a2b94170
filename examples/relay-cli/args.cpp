#include "args.hpp"

#include <cstdlib>

namespace relay::cli {

std::optional<std::string> parsed_args::value(std::string const& flag) const
{
    auto it = values.find(flag);
    if (it == values.end() || it->second.empty())
        return std::nullopt;
    return it->second.back();
}

parsed_args parse_args(std::vector<std::string> const& args, std::set<std::string> const& value_flags,
                       std::set<std::string> const& switch_flags)
{
    parsed_args out;
    bool flags_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& arg = args[i];
        if (flags_done || arg.size() < 2 || arg[0] != '-' || arg == "-") {
            out.positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            flags_done = true;
            continue;
        }
        std::string flag = arg;
        std::optional<std::string> inline_value;
        if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            flag = arg.substr(0, eq);
            inline_value = arg.substr(eq + 1);
        }
        if (value_flags.count(flag)) {
            if (!inline_value) {
                if (i + 1 >= args.size())
                    throw usage_error(flag + " needs a value");
                inline_value = args[++i];
            }
            out.values[flag].push_back(*inline_value);
        } else if (switch_flags.count(flag) && !inline_value) {
            out.switches.insert(flag);
        } else {
            throw usage_error("unknown option '" + arg + "'");
        }
    }
    return out;
}

double seconds_arg(std::string const& flag, std::string const& text)
{
    char* end = nullptr;
    double s = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(s > 0) || s > 7 * 86400)
        throw usage_error(flag + " needs a positive number of seconds, got '" + text + "'");
    return s;
}

} // namespace relay::cli
