#pragma once
/** @file How password-reset tokens reach their users. The relay itself sends no email: a
 * deployment plugs in a notifier (SMTP, a transactional-mail API, a chat bot…) through
 * `parts::reset_notifier` (parts.hpp); the default only logs. */
#include <string>

namespace relay::telemetry {
class logger;
}

namespace relay::server {

/**
 * Delivers a password-reset token to the holder of an account. send() runs on the blocking pool,
 * so it may block (e.g. on an SMTP server), and is called only for existing accounts that are not
 * throttled. An exception is logged and swallowed: the client gets its 202 either way, so a
 * failing notifier cannot reveal which emails have accounts.
 */
class reset_notifier {
public:
    virtual ~reset_notifier() = default;

    /** Sends `token` (the raw, single-use token for POST /api/auth/password-reset/confirm) to
     * `email`, the account's normalized address. */
    virtual void send(std::string const& email, std::string const& token) = 0;
};

/**
 * The default notifier: delivers nothing. In developer mode (RELAY_DEV) it writes the token to
 * the log (`password_reset_token email=… token=…`) so a developer can finish the flow; otherwise
 * it logs only that a reset was requested, so an operator can hand out a token with
 * `relayd user reset-token EMAIL`. The token never reaches a production log.
 */
class log_reset_notifier final : public reset_notifier {
public:
    /** `log` must outlive the notifier. */
    log_reset_notifier(telemetry::logger& log, bool dev) noexcept : log_(log), dev_(dev) {}

    void send(std::string const& email, std::string const& token) override;

private:
    telemetry::logger& log_;
    bool dev_;
};

} // namespace relay::server
