#pragma once
// relayd's wiring: each part the server is built from (relay/server/parts.hpp), chosen by the
// configuration. This is the one place a new backend is picked by a setting.
#include "config.hpp"

#include <relay/server/parts.hpp>

#include <memory>
#include <optional>
#include <string>

namespace relayd {

/**
 * The parts `cfg` names: the store RELAY_DATABASE's scheme picks (SQLite for a path or
 * `:memory:`; a postgresql:// URL is refused as not supported yet), the in-process broker, the
 * TURN provider RELAY_TURN_PROVIDER names and the log reset notifier. When a part cannot be
 * built, `why` says so and nothing is returned. `log` and `metrics` go into the parts too.
 */
std::optional<relay::server::parts> make_parts(config const& cfg, std::shared_ptr<relay::telemetry::logger> log,
                                               std::shared_ptr<relay::telemetry::registry> metrics, std::string& why);

/** The TURN provider `turn` names, with the server's STUN URLs. Throws std::invalid_argument when
 * the settings are unusable (a coturn secret too short, a Cloudflare key id with odd characters…). */
std::shared_ptr<relay::turn::provider> make_turn_provider(turn_settings const& turn,
                                                          relay::server::server_options const& options,
                                                          relay::telemetry::logger& log,
                                                          relay::telemetry::registry& metrics);

} // namespace relayd
