#include <relay/auth/crypto.hpp>
#include <relay/auth/device_auth.hpp>
#include <relay/auth/encoding.hpp>

namespace relay::auth {
namespace {

constexpr std::size_t nonce_bytes = 32;
constexpr std::size_t secret_bytes = 32;
constexpr std::size_t signature_hex_chars = 64;

} // namespace

std::string device_challenge_message(std::string_view nonce, std::string_view device_id)
{
    std::string message;
    message.reserve(nonce.size() + 1 + device_id.size());
    message.append(nonce).append(".").append(device_id);
    return message;
}

std::string make_nonce() { return random_token(nonce_bytes); }

std::string device_signature(std::string_view secret, std::string_view nonce, std::string_view device_id)
{
    return hex_encode(hmac_sha256(secret, device_challenge_message(nonce, device_id)));
}

bool verify_device_signature(std::string_view secret, std::string_view nonce, std::string_view device_id,
    std::string_view signature)
{
    if (signature.size() != signature_hex_chars)
        return false;
    auto const presented = hex_decode(signature);
    if (!presented)
        return false;
    return constant_time_equal(*presented, hmac_sha256(secret, device_challenge_message(nonce, device_id)));
}

std::string generate_device_secret() { return random_token(secret_bytes); }

} // namespace relay::auth
