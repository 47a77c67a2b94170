#pragma once
/** @file The provider for RELAY_TURN_PROVIDER=none: no TURN server, only the STUN URLs. */
#include <relay/turn/provider.hpp>

#include <string>
#include <vector>

namespace relay::turn {

/**
 * Answers every request with STUN only: empty `urls`, `username` and `credential`, and
 * `ice_servers` holding the RELAY_STUN_URLS (an empty list when there are none). Peers on the
 * same network or behind friendly NATs still connect; the empty `urls` tell a client that no
 * relay path exists. It never fails: having no TURN server is a configuration, not an outage.
 */
class none_provider final : public provider {
public:
    explicit none_provider(std::vector<std::string> stun_urls, clock_function clock = {});

    std::string_view name() const noexcept override { return "none"; }
    credentials_result credentials(std::string_view subject, std::chrono::seconds ttl) override;
    std::string health() override { return {}; }

private:
    std::vector<std::string> stun_urls_;
    clock_function clock_;
};

} // namespace relay::turn
