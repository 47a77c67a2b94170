#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/protocol/base64.hpp>
#include <relay/protocol/errc.hpp>

#include "auth/openssl_util.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>

namespace relay::auth {

std::string random_bytes(std::size_t n)
{
    std::string out(n, '\0');
    // RAND_bytes takes an int length.
    constexpr std::size_t chunk = INT_MAX / 2;
    for (std::size_t offset = 0; offset < n; offset += chunk) {
        auto const len = std::min(chunk, n - offset);
        if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + offset), static_cast<int>(len)) != 1)
            detail::throw_openssl_error("RAND_bytes");
    }
    return out;
}

std::string random_token(std::size_t n_bytes) { return protocol::base64url_encode(random_bytes(n_bytes)); }

boost::system::result<std::string> random_id(std::string_view prefix)
{
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        return make_error_code(errc::internal);
    std::string id(prefix);
    id += hex_encode(std::string_view(reinterpret_cast<char const*>(bytes), sizeof bytes));
    return id;
}

namespace {

std::string digest(std::string_view data, EVP_MD const* md, char const* what)
{
    std::string out(EVP_MAX_MD_SIZE, '\0');
    unsigned int len = 0;
    if (EVP_Digest(detail::bytes_of(data), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, md,
            nullptr)
        != 1)
        detail::throw_openssl_error(what);
    out.resize(len);
    return out;
}

} // namespace

std::string sha256(std::string_view data) { return digest(data, EVP_sha256(), "EVP_Digest(SHA-256)"); }

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string sha1_hex(std::string_view data) { return hex_encode(digest(data, EVP_sha1(), "EVP_Digest(SHA-1)")); }

std::string hmac_sha256(std::string_view key, std::string_view data)
{
    std::string out(EVP_MAX_MD_SIZE, '\0');
    std::size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, detail::bytes_of(key), key.size(),
            detail::bytes_of(data), data.size(), reinterpret_cast<unsigned char*>(out.data()), out.size(), &len)
        == nullptr)
        detail::throw_openssl_error("EVP_Q_mac(HMAC-SHA256)");
    out.resize(len);
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    return CRYPTO_memcmp(detail::bytes_of(a), detail::bytes_of(b), a.size()) == 0;
}

} // namespace relay::auth
