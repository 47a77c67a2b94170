#pragma once
// relay-cli's configuration file: which relay to use and the tokens for each relay one has
// logged in to. It holds refresh tokens, so it is written with mode 0600 in a 0700 directory.
#include <cstdint>
#include <map>
#include <string>

namespace relay::cli {

/** What `login` stored for one relay. */
struct relay_tokens {
    std::string email;
    std::string access_token;
    std::string refresh_token;
    std::int64_t access_expires_at = 0; ///< unix seconds
    std::int64_t access_ttl = 0;        ///< the relay's `expires_in` for it, seconds; 0 = not known
};

struct cli_config {
    std::string path;          ///< where it was read from / is written to
    std::string default_relay; ///< the relay of the last login
    std::map<std::string, relay_tokens> relays; ///< by relay URL as given to --relay
};

/**
 * $RELAY_CLI_CONFIG, else $XDG_CONFIG_HOME/relay-cli/config.json, else
 * ~/.config/relay-cli/config.json.
 */
std::string default_config_path();

/** Reads the file; a missing file is an empty configuration. Throws std::runtime_error for a corrupt one. */
cli_config load_config(std::string const& path);

/** Writes atomically (temporary file, then rename) with mode 0600. Throws std::runtime_error. */
void save_config(cli_config const& config);

} // namespace relay::cli
