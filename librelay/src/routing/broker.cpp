#include <relay/routing/broker.hpp>

#include <charconv>

namespace relay::routing {

std::shared_ptr<std::string const> frame_around_seq::with_seq(std::uint64_t seq) const
{
    char digits[20];
    auto end = std::to_chars(digits, digits + sizeof digits, seq).ptr;
    std::string out;
    out.reserve(prefix.size() + static_cast<std::size_t>(end - digits) + suffix.size());
    out.append(prefix).append(digits, end).append(suffix);
    return std::make_shared<std::string const>(std::move(out));
}

} // namespace relay::routing
