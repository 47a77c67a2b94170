#include <relay/auth/crypto.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/protocol/base64.hpp>

#include "auth/openssl_util.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace relay::auth {
namespace {

constexpr std::string_view version_prefix = "v1.";
// EVP update calls take int lengths; feed long inputs in pieces.
constexpr std::size_t update_chunk = 1u << 30;

unsigned char* as_uchar(std::string& s, std::size_t offset = 0) noexcept
{
    return reinterpret_cast<unsigned char*>(s.data() + offset);
}

// Feeds `ad` as associated data (null output buffer) or `in` as data to EVP_CipherUpdate.
bool update(EVP_CIPHER_CTX* ctx, unsigned char* out, std::string_view in, std::size_t& written) noexcept
{
    for (std::size_t offset = 0; offset < in.size(); offset += update_chunk) {
        auto const n = std::min(update_chunk, in.size() - offset);
        int len = 0;
        if (EVP_CipherUpdate(ctx, out ? out + written : nullptr, &len, detail::bytes_of(in.substr(offset)),
                static_cast<int>(n))
            != 1)
            return false;
        if (out)
            written += static_cast<std::size_t>(len);
    }
    return true;
}

} // namespace

secret_box::secret_box(std::string_view key)
    : key_(key)
{
    if (key_.size() != key_bytes)
        throw std::invalid_argument("the secret sealing key must be exactly 32 bytes (64 hex characters); got "
            + std::to_string(key_.size()) + " bytes");
}

std::string secret_box::seal(std::string_view plaintext, std::string_view associated_data) const
{
    auto const nonce = random_bytes(nonce_bytes);
    detail::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
    if (!ctx)
        detail::throw_openssl_error("EVP_CIPHER_CTX_new");
    // AES-GCM's default IV length is the 12 bytes we use.
    if (EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), detail::bytes_of(key_), detail::bytes_of(nonce), nullptr)
        != 1)
        detail::throw_openssl_error("EVP_EncryptInit_ex2(AES-256-GCM)");
    std::string body(plaintext.size() + tag_bytes, '\0');
    std::size_t written = 0;
    std::size_t ignored = 0;
    if (!update(ctx.get(), nullptr, associated_data, ignored) || !update(ctx.get(), as_uchar(body), plaintext, written))
        detail::throw_openssl_error("EVP_EncryptUpdate");
    int final_len = 0;
    if (EVP_EncryptFinal_ex(ctx.get(), as_uchar(body, written), &final_len) != 1)
        detail::throw_openssl_error("EVP_EncryptFinal_ex");
    written += static_cast<std::size_t>(final_len);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes), as_uchar(body, written)) != 1)
        detail::throw_openssl_error("EVP_CTRL_GCM_GET_TAG");
    body.resize(written + tag_bytes);
    return std::string(version_prefix) + protocol::base64url_encode(nonce) + "." + protocol::base64url_encode(body);
}

std::optional<std::string> secret_box::open(std::string_view sealed, std::string_view associated_data) const
{
    if (sealed.substr(0, version_prefix.size()) != version_prefix)
        return std::nullopt;
    sealed.remove_prefix(version_prefix.size());
    auto const dot = sealed.find('.');
    if (dot == std::string_view::npos)
        return std::nullopt;
    auto const nonce = protocol::base64url_decode(sealed.substr(0, dot));
    auto body = protocol::base64url_decode(sealed.substr(dot + 1));
    if (!nonce || nonce->size() != nonce_bytes || !body || body->size() < tag_bytes)
        return std::nullopt;
    std::string tag = body->substr(body->size() - tag_bytes);
    std::string_view const ciphertext = std::string_view(*body).substr(0, body->size() - tag_bytes);

    detail::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
    if (!ctx
        || EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), detail::bytes_of(key_), detail::bytes_of(*nonce), nullptr)
            != 1)
        return std::nullopt;
    std::string plaintext(ciphertext.size(), '\0');
    std::size_t written = 0;
    std::size_t ignored = 0;
    if (!update(ctx.get(), nullptr, associated_data, ignored)
        || !update(ctx.get(), as_uchar(plaintext), ciphertext, written))
        return std::nullopt;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes), as_uchar(tag)) != 1)
        return std::nullopt;
    // Final checks the tag; nothing is returned unless it matches.
    int final_len = 0;
    if (EVP_DecryptFinal_ex(ctx.get(), as_uchar(plaintext, written), &final_len) != 1)
        return std::nullopt;
    plaintext.resize(written + static_cast<std::size_t>(final_len));
    return plaintext;
}

std::optional<std::string> secret_box::parse_key(std::string_view text)
{
    auto const is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && is_space(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_space(text.back()))
        text.remove_suffix(1);
    std::optional<std::string> key;
    if (text.size() == 2 * key_bytes)
        key = hex_decode(text);
    if (!key)
        key = protocol::base64_decode(text, protocol::base64_padding::optional);
    if (!key)
        key = protocol::base64url_decode(text);
    if (!key || key->size() != key_bytes)
        return std::nullopt;
    return key;
}

std::string secret_box::generate_key() { return hex_encode(random_bytes(key_bytes)); }

} // namespace relay::auth
