#include <relay/protocol/timestamp.hpp>

#include <array>
#include <cstdio>

namespace relay::protocol {
namespace {

using namespace std::chrono;

// Reads exactly `count` decimal digits at `pos`; nullopt when any of them is not a digit.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t count) noexcept
{
    if (pos + count > text.size())
        return std::nullopt;
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        char const c = text[i];
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

} // namespace

std::string format_timestamp(timestamp t)
{
    auto const ms = floor<milliseconds>(t);
    auto const day = floor<days>(ms);
    year_month_day const ymd{day};
    hh_mm_ss const hms{ms - day};
    std::array<char, 40> buffer{};
    int const n = std::snprintf(buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                                static_cast<int>(hms.subseconds().count()));
    return std::string(buffer.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::optional<timestamp> parse_timestamp(std::string_view text) noexcept
{
    // Fixed part: YYYY-MM-DDTHH:MM:SS (19 characters).
    if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':'
        || text[16] != ':' || text.back() != 'Z')
        return std::nullopt;
    auto const y = digits(text, 0, 4);
    auto const mo = digits(text, 5, 2);
    auto const d = digits(text, 8, 2);
    auto const h = digits(text, 11, 2);
    auto const mi = digits(text, 14, 2);
    auto const s = digits(text, 17, 2);
    // Years outside 1900-2200 come only from broken clocks, and would overflow the
    // nanosecond time_point beyond 2262.
    if (!y || !mo || !d || !h || !mi || !s || *y < 1900 || *y > 2200 || *h > 23 || *mi > 59 || *s > 59)
        return std::nullopt;
    year_month_day const ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
    if (!ymd.ok())
        return std::nullopt;

    // Optional fraction between the seconds and the Z.
    milliseconds fraction{0};
    std::string_view const rest = text.substr(19, text.size() - 20);
    if (!rest.empty()) {
        if (rest.front() != '.' || rest.size() < 2 || rest.size() > 10)
            return std::nullopt;
        int scale = 100;
        for (char const c : rest.substr(1)) {
            if (c < '0' || c > '9')
                return std::nullopt;
            fraction += milliseconds{(c - '0') * scale};
            scale /= 10;
        }
    }
    sys_days const date{ymd};
    return timestamp{date + hours{*h} + minutes{*mi} + seconds{*s} + fraction};
}

} // namespace relay::protocol
