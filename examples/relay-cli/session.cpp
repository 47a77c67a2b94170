#include "session.hpp"

#include <boost/json/serialize.hpp>

#include <ctime>

namespace relay::cli {
namespace {

std::int64_t now_seconds()
{
    return static_cast<std::int64_t>(std::time(nullptr));
}

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
        if (answer.status == 401 && answer.error_code() == "TOKEN_EXPIRED" && attempt == 0) {
            refresh();
            continue;
        }
        return answer;
    }
}

std::unique_ptr<app_socket> session::open_socket()
{
    refresh_if_due();
    try {
        return std::make_unique<app_socket>(context_.relay, tokens().access_token, context_.timeout);
    } catch (socket_closed const& e) {
        if (e.code != 4401)
            throw; // not about the token: the relay is restarting or refusing for another reason
        if (std::string(e.what()).rfind("TOKEN_EXPIRED", 0) != 0)
            throw login_required(std::string("the relay refused the session (") + e.what() + "): run relay-cli login again");
    }
    refresh();
    return std::make_unique<app_socket>(context_.relay, tokens().access_token, context_.timeout);
}

} // namespace relay::cli
