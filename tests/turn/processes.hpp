#pragma once
// External programs the TURN tests run: a real coturn `turnserver` on loopback, coturn's own
// test client `turnutils_uclient`; the test certificates are support/test_pki.hpp.
#include "support/test_pki.hpp"

#include <relay_support/process.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace turn_test {

/** A certificate and key for coturn's TLS listener (`turns:`). */
struct turnserver_tls {
    std::string cert_file;
    std::string key_file;
};

/**
 * coturn on 127.0.0.1 with `use-auth-secret` and the given `static-auth-secret`s (coturn
 * accepts any of them), realm relay.test, UDP and TCP on port(), TLS on tls_port() only when
 * `tls` is given, no DTLS, no CLI, loopback peers allowed, its log, pid file and database in a
 * temporary directory. Waits until it answers STUN.
 */
class turnserver_process {
public:
    explicit turnserver_process(std::vector<std::string> const& secrets,
                                std::optional<turnserver_tls> const& tls = std::nullopt);
    ~turnserver_process();
    turnserver_process(turnserver_process const&) = delete;
    turnserver_process& operator=(turnserver_process const&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /** The TLS listener's port; 0 without TLS. */
    std::uint16_t tls_port() const noexcept { return tls_port_; }
    /** coturn's log so far. */
    std::string log() const;

private:
    relay::support::temp_dir dir_;
    std::optional<relay::support::child_process> process_;
    std::uint16_t port_ = 0;
    std::uint16_t tls_port_ = 0;
};

/** The test PKI, shared with the other suites that speak TLS. */
using relay::test::test_pki;

} // namespace turn_test
