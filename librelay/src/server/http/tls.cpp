#include "server/http/tls.hpp"

#include <openssl/ssl.h>

namespace relay::server {

std::shared_ptr<net::ssl::context> tls_config::build(std::string const& cert, std::string const& key, std::string& why)
{
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
    // TLS 1.2 and 1.3 only, forward-secret AEAD suites for 1.2 (1.3's are all modern).
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                     net::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx->native_handle(),
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert, ec);
    if (ec) {
        why = "cannot use RELAY_TLS_CERT " + cert + ": " + ec.message();
        return nullptr;
    }
    ctx->use_private_key_file(key, net::ssl::context::pem, ec);
    if (ec) {
        why = "cannot use RELAY_TLS_KEY " + key + ": " + ec.message();
        return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        why = "RELAY_TLS_KEY does not match the certificate in RELAY_TLS_CERT";
        return nullptr;
    }
    return ctx;
}

std::shared_ptr<tls_config> tls_config::load(std::string cert_file, std::string key_file, std::string& why)
{
    auto ctx = build(cert_file, key_file, why);
    if (!ctx)
        return nullptr;
    auto config = std::make_shared<tls_config>();
    config->cert_file_ = std::move(cert_file);
    config->key_file_ = std::move(key_file);
    config->context_ = std::move(ctx);
    return config;
}

std::shared_ptr<net::ssl::context> tls_config::current() const
{
    std::lock_guard lock(mutex_);
    return context_;
}

std::string tls_config::reload()
{
    std::string why;
    auto ctx = build(cert_file_, key_file_, why);
    if (!ctx)
        return why;
    std::lock_guard lock(mutex_);
    context_ = std::move(ctx);
    return {};
}

} // namespace relay::server
