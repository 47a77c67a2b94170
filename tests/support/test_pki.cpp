#include "support/test_pki.hpp"

#include "support/tools.hpp"

#include <relay_support/process.hpp>

#include <stdexcept>
#include <vector>

namespace relay::test {
namespace {

void openssl(std::vector<std::string> args)
{
    args.insert(args.begin(), require_program("openssl", "openssl"));
    auto [status, out] = relay::support::run_program(args, std::chrono::seconds(60));
    if (status != 0)
        throw std::runtime_error("openssl failed: " + out);
}

} // namespace

test_pki::test_pki(std::string const& dir)
{
    ca_cert = dir + "/ca.pem";
    auto ca_key = dir + "/ca.key";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    other_host_cert = dir + "/other.pem";
    other_host_key = dir + "/other.key";
    unknown_ca_cert = dir + "/unknown-ca.pem";

    auto make_ca = [&](std::string const& cert, std::string const& key, std::string const& name) {
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                 "-out", cert, "-days", "2", "-subj", "/CN=" + name, "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    };
    auto make_leaf = [&](std::string const& cert, std::string const& key, std::string const& san) {
        auto csr = cert + ".csr";
        auto ext = cert + ".ext";
        support::write_text(ext, "subjectAltName=" + san + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                 csr, "-subj", "/CN=relay test server"});
        openssl({"x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                 "-days", "2", "-extfile", ext});
    };
    make_ca(ca_cert, ca_key, "relay test CA");
    make_leaf(server_cert, server_key, "DNS:localhost,IP:127.0.0.1");
    make_leaf(other_host_cert, other_host_key, "DNS:other.test");
    make_ca(unknown_ca_cert, dir + "/unknown-ca.key", "someone else's CA");
}

} // namespace relay::test
