// X-Amz-Date timestamps: the ISO 8601 basic format "yyyymmddTHHMMSSZ" in UTC, the only form
// botocore sends and the one SigV4's error messages quote.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::auth {

// Seconds since the epoch, or nullopt unless `text` is exactly that format and a real instant
// (month 1-12, a day the month has, hour < 24, minute < 60, second < 60).
std::optional<std::int64_t> parse_amz_date(std::string_view text);

std::string format_amz_date(std::int64_t epoch_seconds);

}  // namespace kiln::auth
