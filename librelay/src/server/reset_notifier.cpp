#include <relay/server/reset_notifier.hpp>

#include <relay/telemetry/log.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace relay::server {

std::string reset_link(std::string_view public_url, std::string_view token)
{
    // Tokens are base64url today; encoded anyway, so the link stays one whatever a token holds.
    return std::string(public_url) + "/console/#/reset?token=" + boost::urls::encode(token, boost::urls::unreserved_chars);
}

std::optional<std::string> normalize_public_url(std::string_view url, std::string& why)
{
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) {
        why = "must be an absolute http:// or https:// URL without query or fragment";
        return std::nullopt;
    }
    if (parsed->scheme_id() != boost::urls::scheme::http && parsed->scheme_id() != boost::urls::scheme::https) {
        why = "must start with http:// or https://";
        return std::nullopt;
    }
    if (parsed->encoded_host().empty()) {
        why = "must name a host";
        return std::nullopt;
    }
    if (parsed->has_userinfo()) {
        why = "must not hold a user name or password";
        return std::nullopt;
    }
    if (parsed->has_query()) {
        why = "must not have a query (?…)";
        return std::nullopt;
    }
    std::string out(url);
    while (out.ends_with('/'))
        out.pop_back();
    return out;
}

void log_reset_notifier::send(std::string const& email, std::string const& token)
{
    if (dev_) {
        // Developer mode only (contract section 1): the one place a token is logged on purpose.
        log_.warn("password_reset_token",
                  {{"email", email}, {"token", token}, {"password_reset_link", reset_link(public_url_, token)}});
        return;
    }
    log_.info("password_reset_requested",
              {{"email", email},
               {"message", "no reset notifier is configured; issue a token with: relayd user reset-token EMAIL"}});
}

} // namespace relay::server
