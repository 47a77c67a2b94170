#include <relay/server/reset_notifier.hpp>

#include <relay/telemetry/log.hpp>

namespace relay::server {

void log_reset_notifier::send(std::string const& email, std::string const& token)
{
    if (dev_) {
        // Developer mode only (contract section 1): the one place a token is logged on purpose.
        log_.warn("password_reset_token", {{"email", email}, {"token", token}});
        return;
    }
    log_.info("password_reset_requested",
              {{"email", email},
               {"message", "no reset notifier is configured; issue a token with: relayd user reset-token EMAIL"}});
}

} // namespace relay::server
