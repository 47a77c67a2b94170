#include "relay_connection.hpp"

#include "args.hpp"

#include <relay/version.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace relay::cli {
namespace {

std::string user_agent()
{
    return "relay-cli/" + std::string(relay::version);
}

support::endpoint to(relay_endpoint const& relay)
{
    support::endpoint e;
    e.host = relay.url.host;
    e.port = relay.url.port;
    e.tls = relay.url.tls;
    e.base_path = relay.url.path;
    e.ca_file = relay.ca_file;
    return e;
}

/** Runs `f`, turning a CA file that cannot be loaded into the usage error it is. */
template <class F> auto with_ca_file(F&& f)
{
    try {
        return f();
    } catch (support::ca_file_error const& e) {
        throw usage_error("cannot load --ca-file " + e.file + ": " + e.what());
    }
}

} // namespace

relay_endpoint make_endpoint(std::string const& text, std::string ca_file)
{
    auto parsed = robot::parse_relay_url(text, "");
    if (!parsed)
        throw usage_error("the relay URL must look like https://relay.example.com or http://127.0.0.1:8000, not '" +
                          text + "'");
    relay_endpoint e{text, *parsed, std::move(ca_file)};
    if (e.url.path == "/")
        e.url.path.clear();
    return e;
}

std::string http_answer::describe_error() const
{
    auto code = error_code();
    if (code.empty())
        return "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body.substr(0, 200));
    auto message = error_message();
    return code + (message.empty() ? "" : ": " + message) + " (HTTP " + std::to_string(status) + ")";
}

http_answer http_request(relay_endpoint const& relay, std::string const& method, std::string const& target,
                         std::optional<std::string> const& body,
                         std::vector<std::pair<std::string, std::string>> const& headers, std::chrono::milliseconds timeout)
{
    support::http_options options;
    options.timeout = timeout;
    options.user_agent = user_agent();
    options.close = true;
    options.body_limit = 16 * 1024 * 1024;
    return with_ca_file(
        [&] { return http_answer{support::http_request(to(relay), method, target, body, headers, options)}; });
}

// --- the app socket ------------------------------------------------------------------------------

app_socket::app_socket(relay_endpoint const& relay, std::string const& access_token, std::chrono::milliseconds timeout)
{
    support::websocket_options options;
    options.timeout = timeout;
    options.user_agent = user_agent();
    options.headers = {{"Authorization", "Bearer " + access_token}};
    options.read_message_max = 16 * 1024 * 1024;
    // Beast pings a silent relay and gives up on one that stays silent (the relay itself
    // pings every 30 s, so 90 s of silence means it is gone).
    options.idle_timeout = std::chrono::seconds(90);
    ws_ = with_ca_file([&] { return std::make_unique<support::websocket_client>(to(relay), "/ws/app", options); });
    // The relay answers a bad token with an error and close 4401; a good one with auth_ok.
    for (;;) {
        auto m = read(timeout);
        if (!m)
            throw network_error("no auth_ok from the relay in time");
        auto type = m->is_object() && m->as_object().contains("type") ? m->at("type") : boost::json::value();
        if (type == "auth_ok") {
            auth_ok_ = std::move(*m);
            return;
        }
        if (type == "error") {
            auto code = m->as_object().contains("code") ? std::string(m->at("code").as_string()) : "";
            throw socket_closed(4401, code + ": " +
                                          (m->as_object().contains("message") ? std::string(m->at("message").as_string()) : ""));
        }
    }
}

app_socket::~app_socket() = default;

void app_socket::send(boost::json::value const& message)
{
    ws_->send_text(boost::json::serialize(message));
}

std::optional<boost::json::value> app_socket::read(std::chrono::milliseconds timeout)
{
    auto r = ws_->read(timeout);
    using result = support::websocket_read::result;
    if (r.what == result::timed_out)
        return std::nullopt;
    if (r.what == result::closed)
        throw socket_closed(r.close_code, r.close_reason.empty() ? "closed by the relay" : r.close_reason);
    if (r.what == result::failed)
        throw network_error("connection lost: " + r.error);
    boost::system::error_code ec;
    auto v = boost::json::parse(r.text, ec);
    if (ec)
        return boost::json::value(boost::json::object{{"type", "unparsable"}, {"text", r.text}});
    return v;
}

void app_socket::close()
{
    ws_->close(1000, std::chrono::seconds(2));
}

} // namespace relay::cli
