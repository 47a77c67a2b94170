#pragma once
/** @file
 * Access tokens: compact JWS with HS256 (RFC 7515, 7518, 7519). The relay both mints and checks
 * them, so only HS256 is accepted: a token naming any other algorithm ("none", "HS512",
 * "RS256", …) is refused outright, which rules out algorithm-confusion attacks.
 */
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace relay::auth {

/** The claims of an access token. Times are unix seconds, as on the wire. */
struct jwt_claims {
    /** Subject: the user id the token speaks for. */
    std::string sub;
    /** Issued at. */
    std::int64_t iat = 0;
    /** Expires at; the token is refused from this second on (plus the verifier's leeway). */
    std::int64_t exp = 0;
    /** Token id, unique per token, so a single token can be identified in logs or revoked. */
    std::string jti;
    /** Session id: the login the token was issued for (the relay puts the refresh-token family
     * there), so whatever was opened with the token can end with that login. Optional: empty
     * means none, and sign() then leaves the claim out; tokens minted before it existed still
     * verify. A non-string `sid` makes a token invalid. */
    std::string sid;
    /** Further string claims. The names above (sub, iat, exp, jti, sid) are not allowed here:
     * sign() ignores them so the fields above always win. On verify, every other top-level
     * string claim lands here; claims of other types are ignored. */
    std::map<std::string, std::string, std::less<>> extra;

    friend bool operator==(jwt_claims const&, jwt_claims const&) = default;
};

/** Claims for a new token: `sub`, iat = now, exp = now + ttl, a random 128-bit jti. */
jwt_claims make_claims(std::string sub, std::chrono::system_clock::time_point now, std::chrono::seconds ttl);

/** Checks only the form of a compact JWS, that its header says exactly "HS256", and its
 * HMAC-SHA256 signature under `key` — no claims, no key-length rule. For published test
 * vectors and tools; services use jwt_codec::verify, which also checks claims and time. */
bool verify_hs256_signature(std::string_view token, std::string_view key);

/** Mints and checks HS256 access tokens with one secret. Immutable after construction, so one
 * instance may be shared by every thread. */
class jwt_codec {
public:
    /** HS256 keys shorter than the hash output (RFC 7518 §3.2) are refused. */
    static constexpr std::size_t min_secret_bytes = 32;
    /** Tokens longer than this are refused before any work is done on them. */
    static constexpr std::size_t max_token_bytes = 8192;

    /** Throws std::invalid_argument with a sentence an operator can act on when `secret` is
     * shorter than min_secret_bytes or `leeway` is negative: a misconfigured relay must not start.
     * `leeway` is the clock skew tolerated on exp and iat. */
    explicit jwt_codec(std::string secret, std::chrono::seconds leeway = std::chrono::seconds(30));

    /** The compact token for `claims`: header {"alg":"HS256","typ":"JWT"}. */
    std::string sign(jwt_claims const& claims) const;

    /** The claims of `token` if it is well formed, says HS256, carries our signature, has string
     * sub and jti (non-empty), integer iat and exp, a string sid if any, and is valid at `now`:
     * errc::token_expired when exp + leeway <= now, errc::unauthorized for every other
     * problem (including iat more than the leeway in the future). Never throws on bad input. */
    boost::system::result<jwt_claims> verify(std::string_view token, std::chrono::system_clock::time_point now) const;

    /** The clock skew this codec tolerates. */
    std::chrono::seconds leeway() const noexcept { return leeway_; }

private:
    std::string secret_;
    std::chrono::seconds leeway_;
};

} // namespace relay::auth
