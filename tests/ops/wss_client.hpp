#pragma once
// A WebSocket client over TLS, as an app or a robot reaches the relay through nginx: connects to
// 127.0.0.1:port, sends SNI and Host for `host`, and verifies the certificate against `ca_file`
// and `host`.
#include "support/clients.hpp"

#include <cstdint>
#include <string>

namespace ops_test {

class wss_client : public relay::test::ws_client {
public:
    /** Connects and upgrades; throws relay::support::network_error. */
    wss_client(std::uint16_t port, std::string const& host, std::string const& target, std::string const& ca_file)
        : ws_client(relay::test::tls_to{port, ca_file, host}, target)
    {
    }
};

} // namespace ops_test
