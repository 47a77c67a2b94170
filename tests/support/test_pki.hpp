#pragma once
// Test certificates made with the openssl command line, for every test that speaks TLS to a
// real server (coturn, nginx, relayd's own listeners, PostgreSQL).
#include <string>

namespace relay::test {

/** Test PKI in `dir`: a CA, a server certificate it signed for localhost and 127.0.0.1, one for
 * another host name, and an unrelated CA. */
struct test_pki {
    explicit test_pki(std::string const& dir);

    std::string ca_cert;             ///< the CA clients are told to trust
    std::string server_cert, server_key;
    std::string other_host_cert, other_host_key; ///< signed by the CA, for other.test only
    std::string unknown_ca_cert;     ///< a CA that signed nothing here
};

} // namespace relay::test
