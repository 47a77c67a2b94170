#pragma once
// `relayd turn-check`: one TURN self-probe from the command line, with relayd's configuration.
#include "config.hpp"

#include <string>
#include <vector>

namespace relayd {

/**
 * Asks the configured TURN provider for credentials, allocates (and releases) on each TURN URL
 * it hands out, and prints each URL's outcome. Exit status 0 when every URL allocated (or the
 * provider is "none": nothing to check), 1 when any failed, 2 for unusable settings.
 */
int run_turn_check(config const& cfg, std::vector<std::string> const& words);

} // namespace relayd
