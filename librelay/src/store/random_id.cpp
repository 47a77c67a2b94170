#include <relay/store/store.hpp>

#include <openssl/rand.h>

#include <array>

namespace relay::store {

result<std::string> random_id(std::string_view prefix)
{
    // 128 bits: ids must not be guessable, since some (user ids) appear in URLs.
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        return errc::internal;
    constexpr char digits[] = "0123456789abcdef";
    std::string id;
    id.reserve(prefix.size() + 2 * bytes.size());
    id.append(prefix);
    for (unsigned char b : bytes) {
        id.push_back(digits[b >> 4]);
        id.push_back(digits[b & 0x0f]);
    }
    return id;
}

} // namespace relay::store
