#include "digest.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace relay::turn::detail {
namespace {

unsigned char const* bytes_of(std::string_view s) noexcept
{
    // OpenSSL may read a null pointer as "parameter absent" rather than "empty".
    static constexpr unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<unsigned char const*>(s.data());
}

[[noreturn]] void openssl_failed(std::string const& what)
{
    ERR_clear_error();
    throw std::runtime_error("OpenSSL: " + what + " failed");
}

} // namespace

std::string hmac_sha1(std::string_view key, std::string_view data)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, bytes_of(key), key.size(), bytes_of(data), data.size(),
                  mac, sizeof mac, &len)
        == nullptr)
        openssl_failed("EVP_Q_mac(HMAC-SHA1)");
    return std::string(reinterpret_cast<char const*>(mac), len);
}

std::string digest(char const* name, std::string_view data)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
    bool ok = md && EVP_Digest(bytes_of(data), data.size(), out, &len, md, nullptr) == 1;
    EVP_MD_free(md);
    if (!ok)
        openssl_failed(std::string("EVP_Digest(") + name + ")");
    return std::string(reinterpret_cast<char const*>(out), len);
}

} // namespace relay::turn::detail
