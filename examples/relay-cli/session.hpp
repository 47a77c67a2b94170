#pragma once
// A logged-in relay-cli: the relay, its tokens from the config file, and requests that keep
// the access token fresh (refreshing it before it expires, or once when the relay says it has).
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

    /** A JSON API call with the bearer token; refreshes and retries once on TOKEN_EXPIRED. */
    http_answer call(std::string const& method, std::string const& target, std::optional<std::string> const& body = {},
                     std::vector<std::pair<std::string, std::string>> const& headers = {});

    /** An authenticated app socket; refreshes and retries once on TOKEN_EXPIRED. */
    std::unique_ptr<app_socket> open_socket();

    std::string const& email() const noexcept { return tokens().email; }

private:
    relay_tokens& tokens();
    relay_tokens const& tokens() const;
    void refresh_if_due();
    void refresh();

    cli_context& context_;
};

/** Stores a fresh token pair (from login or refresh) for the context's relay and saves the config. */
void store_tokens(cli_context& context, std::string const& email, boost::json::value const& pair);

} // namespace relay::cli
