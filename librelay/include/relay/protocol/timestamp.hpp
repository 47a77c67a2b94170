#pragma once
/** @file
 * Wire times: ISO-8601 UTC with milliseconds and `Z`, e.g. `2026-11-21T20:15:03.123Z`
 * (contract, preamble). Fields ending in `_at` are unix seconds and `_ms` milliseconds instead;
 * those are plain integers and need no helper.
 */
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace relay::protocol {

/** The clock of every `ts` field. */
using timestamp = std::chrono::system_clock::time_point;

/** `2026-11-21T20:15:03.123Z`: always milliseconds, truncated towards the past. */
std::string format_timestamp(timestamp t);

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with 1 to 9 fraction digits (kept to the
 * millisecond) and years 1900 to 2200; nullopt for anything else, including offsets other than
 * `Z`, leap seconds and invalid dates.
 */
std::optional<timestamp> parse_timestamp(std::string_view text) noexcept;

} // namespace relay::protocol
