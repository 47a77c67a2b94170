#pragma once
/** @file How password-reset tokens reach their users. The relay itself sends no email: a
 * deployment plugs in a notifier (SMTP, a transactional-mail API, a chat bot…) through
 * `parts::reset_notifier` (parts.hpp); the default only logs. */
#include <optional>
#include <string>
#include <string_view>

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
 * The web page where the holder of `token` sets a new password: the console's reset page,
 * `<public_url>/console/#/reset?token=<token>` (relative to the relay when `public_url` is empty).
 * A notifier puts it in its mail; the token travels in the fragment, which browsers never send
 * to a server or in a Referer.
 */
std::string reset_link(std::string_view public_url, std::string_view token);

/**
 * RELAY_PUBLIC_URL checked: an absolute http or https URL with a host and without user info,
 * query or fragment; a path is kept (a relay behind a proxy under a prefix). Returns it without
 * trailing '/', or nullopt with `why` set.
 */
std::optional<std::string> normalize_public_url(std::string_view url, std::string& why);

/**
 * The default notifier: delivers nothing. In developer mode (RELAY_DEV) it writes the token to
 * the log (`password_reset_token email=… token=… password_reset_link=…`, the link from
 * reset_link()) so a developer can finish the flow in the console; otherwise
 * it logs only that a reset was requested, so an operator can hand out a token with
 * `relayd user reset-token EMAIL`. The token never reaches a production log.
 */
class log_reset_notifier final : public reset_notifier {
public:
    /** `log` must outlive the notifier; `public_url` starts the logged links (reset_link()). */
    log_reset_notifier(telemetry::logger& log, bool dev, std::string public_url = {})
        : log_(log), dev_(dev), public_url_(std::move(public_url))
    {
    }

    void send(std::string const& email, std::string const& token) override;

private:
    telemetry::logger& log_;
    bool dev_;
    std::string public_url_;
};

} // namespace relay::server
