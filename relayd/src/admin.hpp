#pragma once
// Admin subcommands (`relayd user …`, `relayd device …`, `relayd db …`) on the configured database.
#include "config.hpp"

#include <string>
#include <vector>

namespace relayd {

/** Runs `relayd user|device …`; returns the process exit status. */
int run_admin(config cfg, std::vector<std::string> const& words);

/**
 * Runs `relayd db status|migrate|copy …`; returns the process exit status. These commands never
 * unseal a device secret, so they neither need nor create the device-secret key.
 */
int run_db(config const& cfg, std::vector<std::string> const& words);

/** Runs `relayd audit [--device ID] [--user ID|EMAIL] [--since TIME|AGE] [--limit N] [--json]`
 * (audit_command.cpp); returns the process exit status. */
int run_audit(config const& cfg, std::vector<std::string> const& words);

} // namespace relayd
