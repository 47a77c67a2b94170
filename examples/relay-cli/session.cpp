#include "session.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <ctime>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace relay::cli {
namespace {

std::int64_t now_seconds()
{
    return static_cast<std::int64_t>(std::time(nullptr));
}

/**
 * An exclusive lock on `<config>.lock` while alive, so relay-cli processes sharing a config
 * file (a long `watch` and commands in another terminal) refresh one at a time: two refreshing
 * with the same refresh token look like a stolen token to the relay, which then ends the login.
 * Best effort: without the lock file, refreshing still works, just unserialized.
 */
class refresh_lock {
public:
    explicit refresh_lock(std::string const& config_path)
        : fd_(::open((config_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600))
    {
        if (fd_ >= 0)
            ::flock(fd_, LOCK_EX);
    }
    ~refresh_lock()
    {
        if (fd_ >= 0)
            ::close(fd_); // releases the lock
    }
    refresh_lock(refresh_lock const&) = delete;
    refresh_lock& operator=(refresh_lock const&) = delete;

private:
    int fd_;
};

} // namespace

void store_tokens(cli_context& context, std::string const& email, boost::json::value const& pair)
{
    auto& t = context.config.relays[context.relay.text];
    t.email = email;
    t.access_token = std::string(pair.at("access_token").as_string());
    t.refresh_token = std::string(pair.at("refresh_token").as_string());
    std::int64_t ttl = 900;
    if (auto* e = pair.as_object().if_contains("expires_in"); e && e->is_number())
        ttl = e->to_number<std::int64_t>();
    t.access_expires_at = now_seconds() + ttl;
    t.access_ttl = ttl;
    context.config.default_relay = context.relay.text;
    save_config(context.config);
}

session::session(cli_context& context) : context_(context)
{
    auto it = context_.config.relays.find(context_.relay.text);
    if (it == context_.config.relays.end() || it->second.refresh_token.empty())
        throw login_required("not logged in to " + context_.relay.text + ": run relay-cli --relay " + context_.relay.text +
                             " login");
}

relay_tokens& session::tokens()
{
    return context_.config.relays.at(context_.relay.text);
}

relay_tokens const& session::tokens() const
{
    return context_.config.relays.at(context_.relay.text);
}

void session::refresh_if_due()
{
    // A token about to expire would fail mid-command; 30 s of margin covers a slow network.
    if (tokens().access_token.empty() || tokens().access_expires_at <= now_seconds() + 30)
        refresh();
}

void session::refresh()
{
    refresh_lock lock(context_.config.path);
    // Another relay-cli may have refreshed since this one read the file: then the refresh token
    // held here is spent (presenting it would end the login) and the file's pair is the live one.
    auto const held = tokens().refresh_token;
    auto on_disk = load_config(context_.config.path);
    auto it = on_disk.relays.find(context_.relay.text);
    if (it == on_disk.relays.end() || it->second.refresh_token.empty())
        throw login_required("logged out of " + context_.relay.text + ": run relay-cli login again");
    context_.config = std::move(on_disk);
    if (tokens().refresh_token != held && now_seconds() < renew_at())
        return;
    auto body = boost::json::serialize(boost::json::object{{"refresh_token", tokens().refresh_token}});
    auto answer = http_request(context_.relay, "POST", "/api/auth/refresh", body, {}, context_.timeout);
    if (answer.status != 200 || !answer.json().is_object())
        throw login_required("the session on " + context_.relay.text + " ended (" + answer.describe_error() +
                             "): run relay-cli login again");
    store_tokens(context_, tokens().email, answer.json());
}

http_answer session::call(std::string const& method, std::string const& target, std::optional<std::string> const& body,
                          std::vector<std::pair<std::string, std::string>> const& headers)
{
    refresh_if_due();
    for (int attempt = 0;; ++attempt) {
        auto with_auth = headers;
        with_auth.emplace_back("Authorization", "Bearer " + tokens().access_token);
        auto answer = http_request(context_.relay, method, target, body, with_auth, context_.timeout);
        // Expired early by our clock, or signed with a secret the relay no longer has (it
        // restarted without a fixed RELAY_JWT_SECRET): the refresh token, kept in the relay's
        // database, still gets a new one.
        if (answer.status == 401 && attempt == 0 &&
            (answer.error_code() == "TOKEN_EXPIRED" || answer.error_code() == "UNAUTHORIZED")) {
            refresh();
            continue;
        }
        return answer;
    }
}

std::unique_ptr<app_socket> session::open_socket(bool refresh_first)
{
    if (refresh_first)
        refresh();
    else
        refresh_if_due();
    try {
        return std::make_unique<app_socket>(context_.relay, tokens().access_token, context_.timeout);
    } catch (socket_closed const& e) {
        if (e.code != 4401)
            throw; // not about the token: the relay is restarting or refusing for another reason
    }
    // Expired, or unknown to a relay with a new JWT secret: refresh() says so when the login
    // itself has ended.
    refresh();
    return std::make_unique<app_socket>(context_.relay, tokens().access_token, context_.timeout);
}

std::int64_t session::renew_at() const
{
    // A quarter of the lifetime before expiry, 5 to 30 s: late enough not to renew all the
    // time with short lifetimes, early enough for a slow network. Unknown lifetime: 30 s.
    auto const ttl = tokens().access_ttl;
    auto const margin = ttl > 0 ? std::clamp<std::int64_t>(ttl / 4, 5, 30) : 30;
    return tokens().access_expires_at - margin;
}

std::optional<boost::json::value> session::read(app_socket& socket, std::chrono::milliseconds cap)
{
    if (now_seconds() >= renew_at()) {
        refresh();
        socket.send(boost::json::object{{"type", "auth"}, {"token", tokens().access_token}});
    }
    auto const left = std::chrono::seconds(std::max<std::int64_t>(renew_at() - now_seconds(), 0));
    return socket.read(std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds(1), cap));
}

} // namespace relay::cli
