#pragma once
// Admin subcommands (`relayd user …`, `relayd device …`) on the configured database.
#include "config.hpp"

#include <string>
#include <vector>

namespace relayd {

/** Runs `relayd user|device …`; returns the process exit status. */
int run_admin(config cfg, std::vector<std::string> const& words);

} // namespace relayd
