// RELAY_TURN_PROVIDER=coturn: TURN REST API credentials signed with the shared secret.
#include <relay/turn/coturn.hpp>

#include "ice_list.hpp"

#include <relay/protocol/base64.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

namespace relay::turn {
namespace {

unsigned char const* bytes_of(std::string_view s) noexcept
{
    // OpenSSL may read a null pointer as "parameter absent" rather than "empty".
    static constexpr unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<unsigned char const*>(s.data());
}

[[noreturn]] void openssl_failed(char const* what)
{
    ERR_clear_error();
    throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

} // namespace

std::string rest_api_credential(std::string_view secret, std::string_view username)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, bytes_of(secret), secret.size(), bytes_of(username),
                  username.size(), mac, sizeof mac, &len)
        == nullptr)
        openssl_failed("EVP_Q_mac(HMAC-SHA1)");
    return protocol::base64_encode(std::string_view(reinterpret_cast<char const*>(mac), len));
}

std::string secret_fingerprint(std::string_view secret)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    unsigned int len = 0;
    if (EVP_Digest(bytes_of(secret), secret.size(), digest, &len, EVP_sha256(), nullptr) != 1)
        openssl_failed("EVP_Digest(SHA-256)");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 4; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

coturn_provider::coturn_provider(coturn_options options) : options_(std::move(options))
{
    if (options_.secrets.empty())
        throw std::invalid_argument("the coturn TURN provider needs RELAY_TURN_SECRET");
    if (std::any_of(options_.secrets.begin(), options_.secrets.end(), [](auto const& s) { return s.empty(); }))
        throw std::invalid_argument("RELAY_TURN_SECRET must not contain an empty secret");
    if (options_.turn_urls.empty())
        throw std::invalid_argument("the coturn TURN provider needs RELAY_TURN_URLS");
    for (auto const& url : options_.turn_urls)
        if (!is_turn_url(url))
            throw std::invalid_argument("RELAY_TURN_URLS: '" + url + "' is not a turn: or turns: URL");
    // Port 53 is dropped here (relayd warns at start-up), so clients get only URLs they can use.
    options_.turn_urls = usable_turn_urls(std::move(options_.turn_urls));
    if (options_.turn_urls.empty())
        throw std::invalid_argument("RELAY_TURN_URLS: every URL is on port 53, which clients cannot use");
}

credentials_result coturn_provider::credentials(std::string_view subject, std::chrono::seconds ttl)
{
    protocol::ice_credentials out;
    out.ttl = static_cast<std::uint64_t>(std::max<std::int64_t>(ttl.count(), 1));
    out.expires_at = unix_seconds(now(options_.clock)) + static_cast<std::int64_t>(out.ttl);
    // coturn reads the expiry from the part before the first ':' and refuses the credential
    // (STUN 401) once that time has passed on its own clock.
    out.username = std::to_string(out.expires_at);
    out.username += ':';
    out.username += subject;
    out.credential = rest_api_credential(options_.secrets.front(), out.username);
    out.urls = options_.turn_urls;
    out.ice_servers.push_back(protocol::ice_server{out.urls, out.username, out.credential});
    detail::append_stun_entry(out.ice_servers, options_.stun_urls);
    return out;
}

} // namespace relay::turn
