#pragma once
// A logged-in relay-cli: the relay, its tokens from the config file, and requests that keep
// the access token fresh (refreshing it before it expires, or once when the relay refuses it),
// and app sockets that renew it on the open connection before the relay would close them.
#include "config.hpp"
#include "relay_connection.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace relay::cli {

/** Not logged in, or the session cannot be refreshed: exit status 1 with advice to log in. */
struct login_required : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/** What every command gets: where the relay is and how to reach it. */
struct cli_context {
    relay_endpoint relay;
    cli_config config;
    std::chrono::milliseconds timeout{std::chrono::seconds(15)};
};

class session {
public:
    /** Throws login_required when there are no tokens for this relay. */
    explicit session(cli_context& context);

    /** A JSON API call with the bearer token; refreshes and retries once on a 401 UNAUTHORIZED or
     * TOKEN_EXPIRED (the token expired, or the relay restarted with another JWT secret). */
    http_answer call(std::string const& method, std::string const& target, std::optional<std::string> const& body = {},
                     std::vector<std::pair<std::string, std::string>> const& headers = {});

    /** An authenticated app socket; refreshes and retries once when the relay refuses the token
     * (4401). `refresh_first` after the relay ended a socket with 4401: the login may be over.
     * Throws login_required when the refresh token no longer works. */
    std::unique_ptr<app_socket> open_socket(bool refresh_first = false);

    /**
     * The next message on `socket`, waiting at most `cap` (nullopt when none came). Renews the
     * socket's access token first when it is due — a refresh, then `{"type":"auth"}` with the
     * new token (the relay answers `auth_renewed`) — and never waits past the next renewal, so
     * a socket read only through here outlives any number of token lifetimes.
     */
    std::optional<boost::json::value> read(app_socket& socket, std::chrono::milliseconds cap);

    std::string const& email() const noexcept { return tokens().email; }

private:
    relay_tokens& tokens();
    relay_tokens const& tokens() const;
    void refresh_if_due();
    void refresh();
    /** Unix time from which the access token counts as due for renewal on an open socket. */
    std::int64_t renew_at() const;

    cli_context& context_;
};

/** Stores a fresh token pair (from login or refresh) for the context's relay and saves the config. */
void store_tokens(cli_context& context, std::string const& email, boost::json::value const& pair);

} // namespace relay::cli
