#include <relay/auth/device_auth.hpp>
#include <relay/auth/device_key.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/protocol/base64.hpp>

#include "auth/openssl_util.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>

namespace relay::auth {
namespace {

// A PEM key is a few hundred bytes; anything much longer is not one and is not parsed.
constexpr std::size_t max_pem_bytes = 4096;
constexpr std::size_t signature_hex_chars = 2 * ed25519_signature_bytes;

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct bio_deleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

/** Never prompts: an encrypted PEM is refused, not asked about on a terminal. */
int no_passphrase(char*, int, int, void*) { return 0; }

std::string_view trimmed(std::string_view s) noexcept
{
    auto const first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

/** A read-only memory BIO over `text` (bounded by max_pem_bytes, so the int cast is safe). */
bio_ptr memory_bio(std::string_view text) noexcept
{
    return bio_ptr(BIO_new_mem_buf(detail::bytes_of(text), static_cast<int>(text.size())));
}

bool is_ed25519(EVP_PKEY const* key) noexcept { return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519; }

std::optional<std::string> raw_public_key(EVP_PKEY const* key) noexcept
{
    std::string raw(ed25519_public_key_bytes, '\0');
    std::size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
        len != ed25519_public_key_bytes)
        return std::nullopt;
    return raw;
}

bool is_lower_hex(std::string_view s) noexcept
{
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

} // namespace

std::optional<std::string> parse_device_public_key(std::string_view text)
{
    text = trimmed(text);
    if (text.empty() || text.size() > max_pem_bytes)
        return std::nullopt;
    if (!text.starts_with("-----")) {
        // base64url without padding only: the contract's form, so one key has one spelling.
        if (text.find('=') != std::string_view::npos)
            return std::nullopt;
        auto raw = protocol::base64url_decode(text);
        if (!raw || raw->size() != ed25519_public_key_bytes)
            return std::nullopt;
        return raw;
    }
    auto bio = memory_bio(text);
    if (!bio)
        return std::nullopt;
    pkey_ptr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    ERR_clear_error(); // a refused text leaves reasons queued; later calls must not see them
    if (!is_ed25519(key.get()))
        return std::nullopt;
    return raw_public_key(key.get());
}

std::string device_public_key_text(std::string_view raw_public_key)
{
    return protocol::base64url_encode(raw_public_key);
}

bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature) noexcept
{
    if (public_key.size() != ed25519_public_key_bytes || signature.size() != ed25519_signature_bytes)
        return false;
    pkey_ptr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, detail::bytes_of(public_key),
                                             public_key.size()));
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    // Ed25519 is "pure": no digest is named, and the whole message goes to one call.
    bool const ok = key && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
                    EVP_DigestVerify(ctx.get(), detail::bytes_of(signature), signature.size(),
                                     detail::bytes_of(message), message.size()) == 1;
    ERR_clear_error();
    return ok;
}

bool verify_device_key_signature(std::string_view public_key, std::string_view nonce, std::string_view device_id,
                                 std::string_view signature) noexcept
{
    if (signature.size() != signature_hex_chars || !is_lower_hex(signature))
        return false;
    try {
        auto const raw = hex_decode(signature);
        return raw && ed25519_verify(public_key, device_challenge_message(nonce, device_id), *raw);
    } catch (...) {
        return false; // out of memory for a 200-byte string: refused like a bad signature
    }
}

device_private_key device_private_key::generate()
{
    EVP_PKEY* made = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!made)
        detail::throw_openssl_error("EVP_PKEY_Q_keygen(ED25519)");
    return device_private_key(std::shared_ptr<EVP_PKEY>(made, pkey_deleter{}));
}

std::optional<device_private_key> device_private_key::from_pem(std::string_view pem)
{
    pem = trimmed(pem);
    if (pem.empty() || pem.size() > max_pem_bytes)
        return std::nullopt;
    auto bio = memory_bio(pem);
    if (!bio)
        return std::nullopt;
    pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    ERR_clear_error();
    if (!is_ed25519(key.get()))
        return std::nullopt;
    return device_private_key(std::shared_ptr<EVP_PKEY>(key.release(), pkey_deleter{}));
}

std::optional<device_private_key> device_private_key::from_seed(std::string_view seed)
{
    if (seed.size() != ed25519_seed_bytes)
        return std::nullopt;
    EVP_PKEY* made = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, detail::bytes_of(seed), seed.size());
    ERR_clear_error();
    if (!made)
        return std::nullopt;
    return device_private_key(std::shared_ptr<EVP_PKEY>(made, pkey_deleter{}));
}

std::string device_private_key::to_pem() const
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    // OpenSSL 3 writes PKCS#8 ("PRIVATE KEY") for PEM_write_bio_PrivateKey; no cipher: the file's
    // mode (0600) protects it, as ssh-keygen -N '' does.
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        detail::throw_openssl_error("PEM_write_bio_PrivateKey");
    char* data = nullptr;
    long const len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string device_private_key::public_key() const
{
    auto raw = raw_public_key(key_.get());
    if (!raw)
        detail::throw_openssl_error("EVP_PKEY_get_raw_public_key");
    return *raw;
}

std::string device_private_key::sign(std::string_view message) const
{
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    std::string signature(ed25519_signature_bytes, '\0');
    std::size_t len = signature.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                       detail::bytes_of(message), message.size()) != 1 ||
        len != ed25519_signature_bytes)
        detail::throw_openssl_error("EVP_DigestSign(Ed25519)");
    return signature;
}

std::string device_key_signature(device_private_key const& key, std::string_view nonce, std::string_view device_id)
{
    return hex_encode(key.sign(device_challenge_message(nonce, device_id)));
}

} // namespace relay::auth
