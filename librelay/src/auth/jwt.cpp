#include <relay/auth/crypto.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/protocol/base64.hpp>
#include <relay/protocol/errc.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <stdexcept>

namespace relay::auth {
namespace {

namespace json = boost::json;

// Our one header, encoded once: {"alg":"HS256","typ":"JWT"}.
constexpr std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})";

bool is_registered_claim(std::string_view name) noexcept
{
    return name == "sub" || name == "iat" || name == "exp" || name == "jti" || name == "sid";
}

// A base64url segment holding a JSON object, or nullopt. Uses the non-throwing parse.
std::optional<json::object> decode_object(std::string_view segment)
{
    auto text = protocol::base64url_decode(segment);
    if (!text)
        return std::nullopt;
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    if (ec || !v.is_object())
        return std::nullopt;
    return std::move(v.as_object());
}

/** The parts of a token whose form, header and signature are right; nullopt otherwise. */
struct signed_parts {
    std::string_view payload;
};

std::optional<signed_parts> check_signed(std::string_view token, std::string_view key)
{
    if (token.size() > jwt_codec::max_token_bytes)
        return std::nullopt;
    auto const first = token.find('.');
    if (first == std::string_view::npos)
        return std::nullopt;
    auto const second = token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
        return std::nullopt;
    auto const header = token.substr(0, first);
    auto const payload = token.substr(first + 1, second - first - 1);
    auto const signature = token.substr(second + 1);
    if (header.empty() || payload.empty() || signature.empty())
        return std::nullopt;

    // The header decides nothing but is checked before the MAC: only exactly "HS256" passes,
    // and a "crit" extension we cannot understand must make us refuse (RFC 7515 §4.1.11).
    auto const h = decode_object(header);
    if (!h)
        return std::nullopt;
    auto const* alg = h->if_contains("alg");
    if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256" || h->contains("crit"))
        return std::nullopt;

    auto const mac = protocol::base64url_decode(signature);
    if (!mac)
        return std::nullopt;
    auto const signing_input = token.substr(0, second);
    if (!constant_time_equal(*mac, hmac_sha256(key, signing_input)))
        return std::nullopt;
    return signed_parts{payload};
}

// A required non-empty string claim.
std::optional<std::string> string_claim(json::object const& o, std::string_view name)
{
    auto const* v = o.if_contains(name);
    if (v == nullptr || !v->is_string() || v->get_string().empty())
        return std::nullopt;
    return std::string(v->get_string());
}

// A required integer claim (NumericDate in whole seconds; fractions and strings are refused).
std::optional<std::int64_t> int_claim(json::object const& o, std::string_view name)
{
    auto const* v = o.if_contains(name);
    if (v == nullptr || !v->is_int64())
        return std::nullopt;
    return v->get_int64();
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace

jwt_claims make_claims(std::string sub, std::chrono::system_clock::time_point now, std::chrono::seconds ttl)
{
    jwt_claims c;
    c.sub = std::move(sub);
    c.iat = unix_seconds(now);
    c.exp = c.iat + ttl.count();
    c.jti = random_token(16);
    return c;
}

bool verify_hs256_signature(std::string_view token, std::string_view key)
{
    return check_signed(token, key).has_value();
}

jwt_codec::jwt_codec(std::string secret, std::chrono::seconds leeway)
    : secret_(std::move(secret))
    , leeway_(leeway)
{
    if (secret_.size() < min_secret_bytes)
        throw std::invalid_argument("the JWT secret (RELAY_JWT_SECRET) must be at least "
            + std::to_string(min_secret_bytes) + " bytes long; got " + std::to_string(secret_.size()));
    if (leeway_.count() < 0)
        throw std::invalid_argument("the JWT leeway must not be negative");
}

std::string jwt_codec::sign(jwt_claims const& claims) const
{
    json::object payload;
    payload["sub"] = claims.sub;
    payload["iat"] = claims.iat;
    payload["exp"] = claims.exp;
    payload["jti"] = claims.jti;
    if (!claims.sid.empty())
        payload["sid"] = claims.sid;
    for (auto const& [name, value] : claims.extra)
        if (!is_registered_claim(name))
            payload[name] = value;

    std::string token = protocol::base64url_encode(header_json);
    token += '.';
    token += protocol::base64url_encode(json::serialize(payload));
    auto const mac = hmac_sha256(secret_, token);
    token += '.';
    token += protocol::base64url_encode(mac);
    return token;
}

boost::system::result<jwt_claims> jwt_codec::verify(std::string_view token, std::chrono::system_clock::time_point now) const
{
    auto const parts = check_signed(token, secret_);
    if (!parts)
        return relay::errc::unauthorized;
    auto const payload = decode_object(parts->payload);
    if (!payload)
        return relay::errc::unauthorized;

    jwt_claims claims;
    auto sub = string_claim(*payload, "sub");
    auto jti = string_claim(*payload, "jti");
    auto const iat = int_claim(*payload, "iat");
    auto const exp = int_claim(*payload, "exp");
    if (!sub || !jti || !iat || !exp)
        return relay::errc::unauthorized;
    // Optional, but when present it must be what we write: a string naming the login.
    if (auto const* sid = payload->if_contains("sid")) {
        if (!sid->is_string())
            return relay::errc::unauthorized;
        claims.sid = std::string(sid->get_string());
    }
    claims.sub = std::move(*sub);
    claims.jti = std::move(*jti);
    claims.iat = *iat;
    claims.exp = *exp;
    for (auto const& member : *payload)
        if (!is_registered_claim(member.key()) && member.value().is_string())
            claims.extra.emplace(std::string(member.key()), std::string(member.value().get_string()));

    // Compared as now ± leeway: `now` is near the present, so this cannot overflow whatever
    // integers the token carries.
    auto const now_s = unix_seconds(now);
    if (claims.iat > now_s + leeway_.count())
        return relay::errc::unauthorized;
    if (claims.exp <= now_s - leeway_.count())
        return relay::errc::token_expired;
    return claims;
}

} // namespace relay::auth
