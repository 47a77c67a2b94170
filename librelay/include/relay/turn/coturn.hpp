#pragma once
/** @file
 * The provider for RELAY_TURN_PROVIDER=coturn: TURN REST API credentials
 * (draft-uberti-behave-turn-rest) that a stock coturn started with `use-auth-secret` and
 * `static-auth-secret` accepts without asking anyone.
 */
#include <relay/turn/provider.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace relay::turn {

struct coturn_options {
    /** RELAY_TURN_SECRET: the first signs; the others are listed so operators can keep coturn's
     * `static-auth-secret` lines and the relay's list the same during a rotation. */
    std::vector<std::string> secrets;
    /** RELAY_TURN_URLS: `turn:`/`turns:` URLs of the coturn server; reordered UDP first. */
    std::vector<std::string> turn_urls;
    /** RELAY_STUN_URLS: added to every answer. */
    std::vector<std::string> stun_urls;
    clock_function clock;
};

/** The TURN REST API credential for `username`: base64(HMAC-SHA1(secret, username)). */
std::string rest_api_credential(std::string_view secret, std::string_view username);

/** A short, non-reversible name for a secret (the first 8 hex digits of its SHA-256), so logs
 * can say which secret signs without revealing it: compare with
 * `printf %s "$secret" | sha256sum | cut -c1-8`. */
std::string secret_fingerprint(std::string_view secret);

/**
 * Signs credentials locally: username `<expiry unix seconds>:<subject>`, credential
 * rest_api_credential(first secret, username). Never blocks and never fails once constructed.
 */
class coturn_provider final : public provider {
public:
    /** Throws std::invalid_argument when there is no secret, an empty secret, no TURN URL, or a
     * URL that is not `turn:`/`turns:`. */
    explicit coturn_provider(coturn_options options);

    std::string_view name() const noexcept override { return "coturn"; }
    credentials_result credentials(std::string_view subject, std::chrono::seconds ttl) override;
    /** Always healthy: signing needs nothing outside the process. */
    std::string health() override { return {}; }

private:
    coturn_options options_; // turn_urls already ordered
};

} // namespace relay::turn
