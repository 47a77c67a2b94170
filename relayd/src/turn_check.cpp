#include "turn_check.hpp"

#include "parts.hpp"

#include <relay/turn/probe.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <stdexcept>

namespace relayd {

int run_turn_check(config const& cfg, std::vector<std::string> const& words)
{
    if (words.size() > 1) {
        std::fprintf(stderr, "relayd: turn-check takes no arguments (see relayd --help)\n");
        return 2;
    }
    relay::telemetry::logger log(cfg.log_level, cfg.log_format);
    relay::telemetry::registry metrics;
    std::shared_ptr<relay::turn::provider> provider;
    try {
        provider = make_turn_provider(cfg.turn, cfg.server, log, metrics);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "relayd: %s\n", e.what());
        return 2;
    }
    if (provider->name() == "none") {
        fmt::print("RELAY_TURN_PROVIDER=none: no TURN server to check\n");
        return 0;
    }
    auto report = relay::turn::run_probe(*provider);
    if (!report.credentials_failure.empty()) {
        fmt::print("FAILED  the {} provider gave no credentials: {}\n", provider->name(), report.credentials_failure);
        return 1;
    }
    if (report.urls.empty()) {
        fmt::print("FAILED  the {} provider handed out no turn: or turns: URL\n", provider->name());
        return 1;
    }
    for (auto const& u : report.urls)
        fmt::print("{:<7} {}: {}\n", u.outcome.ok() ? "ok" : "FAILED", u.url, u.outcome.answer);
    return report.ok() ? 0 : 1;
}

} // namespace relayd
