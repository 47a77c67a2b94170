#pragma once
/** @file
 * Private helpers shared by the auth sources: owning handles for OpenSSL objects and the one
 * way we turn an OpenSSL failure that nothing can recover from into an exception.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace relay::auth::detail {

struct cipher_ctx_deleter {
    void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
struct kdf_deleter {
    void operator()(EVP_KDF* p) const noexcept { EVP_KDF_free(p); }
};
struct kdf_ctx_deleter {
    void operator()(EVP_KDF_CTX* p) const noexcept { EVP_KDF_CTX_free(p); }
};
struct pkey_deleter {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct bio_deleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};

using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;
using kdf_ptr = std::unique_ptr<EVP_KDF, kdf_deleter>;
using kdf_ctx_ptr = std::unique_ptr<EVP_KDF_CTX, kdf_ctx_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

/** Throws std::runtime_error naming the failed step and OpenSSL's first queued reason; clears
 * the thread's error queue so later calls do not report stale errors. */
[[noreturn]] inline void throw_openssl_error(char const* what)
{
    unsigned long const code = ERR_get_error();
    ERR_clear_error();
    std::string message = std::string("OpenSSL: ") + what + " failed";
    if (code != 0) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        message += ": ";
        message += reason;
    }
    throw std::runtime_error(message);
}

/** Pointer for an OpenSSL input buffer: never null, even for an empty view (some OpenSSL
 * entry points treat a null pointer as "parameter absent" rather than "empty"). */
inline unsigned char const* bytes_of(std::string_view s) noexcept
{
    static constexpr unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<unsigned char const*>(s.data());
}

} // namespace relay::auth::detail
