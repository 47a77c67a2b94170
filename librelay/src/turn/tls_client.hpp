#pragma once
// Private to the turn area: how the turn area's TLS clients (the Cloudflare API client and the
// TURN client for turns: URLs) trust a server: the system's CAs (SSL_CERT_FILE/SSL_CERT_DIR
// included) plus an optional CA file, TLS 1.2 or later, SNI, and the certificate must name the
// host asked for.
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

namespace relay::turn::detail {

/** Trusts the system's CA store plus `ca_file` when not empty, verifies peers, TLS >= 1.2.
 * Throws std::invalid_argument when neither store can be loaded. */
void configure_tls_client(boost::asio::ssl::context& tls, std::string const& ca_file);

/** Whether `host` is an IP literal (IPv6 without brackets): such hosts get no SNI. */
bool is_ip_literal(std::string const& host);

/**
 * Sets SNI (RFC 6066 forbids IP literals there) and host name verification on a client stream
 * before its handshake. `host` must outlive the handshake. False when OpenSSL refuses the name.
 */
template <class Next> bool expect_server_name(boost::asio::ssl::stream<Next>& stream, std::string const& host)
{
    if (!is_ip_literal(host) && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
        return false;
    stream.set_verify_callback([&host](bool preverified, boost::asio::ssl::verify_context& ctx) {
        if (boost::asio::ssl::host_name_verification(host)(preverified, ctx))
            return true;
        // A chain that verified but names another host: record why, so the failure says so.
        if (preverified)
            X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
        return false;
    });
    return true;
}

/** Why a handshake failed: the certificate verification error when there is one ("TLS
 * certificate of HOST not trusted: …"), else empty (the caller describes `ec` itself). */
std::string untrusted_certificate(SSL* ssl, std::string const& host);

} // namespace relay::turn::detail
