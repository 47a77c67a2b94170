#include "tls_client.hpp"

#include <boost/asio/ip/address.hpp>

#include <stdexcept>

namespace relay::turn::detail {

void configure_tls_client(boost::asio::ssl::context& tls, std::string const& ca_file)
{
    boost::system::error_code ec;
    tls.set_default_verify_paths(ec);
    // A machine without a system store can still work with an explicit CA file.
    if (ec && ca_file.empty())
        throw std::invalid_argument("cannot load the system's CA certificates: " + ec.message());
    if (!ca_file.empty()) {
        tls.load_verify_file(ca_file, ec);
        if (ec)
            throw std::invalid_argument("cannot load CA file '" + ca_file + "': " + ec.message());
    }
    tls.set_verify_mode(boost::asio::ssl::verify_peer);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
}

bool is_ip_literal(std::string const& host)
{
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    return !ec;
}

std::string untrusted_certificate(SSL* ssl, std::string const& host)
{
    long verify = SSL_get_verify_result(ssl);
    if (verify == X509_V_OK)
        return {};
    return "TLS certificate of " + host + " not trusted: " + X509_verify_cert_error_string(verify);
}

} // namespace relay::turn::detail
