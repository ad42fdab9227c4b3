#include "auth/amz_date.h"

#include <chrono>
#include <cstdio>

namespace kiln::auth {

namespace {

// The value of text[pos, pos + n) as digits, or -1 if any of them is not a digit.
int digits(std::string_view text, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<std::int64_t> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  const int year = digits(text, 0, 4), month = digits(text, 4, 2), day = digits(text, 6, 2);
  const int hour = digits(text, 9, 2), minute = digits(text, 11, 2), second = digits(text, 13, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const auto days = std::chrono::sys_days(ymd).time_since_epoch().count();
  const std::int64_t seconds_of_day = hour * 3600 + minute * 60 + second;
  return static_cast<std::int64_t>(days) * 86400 + seconds_of_day;
}

std::string format_amz_date(std::int64_t epoch_seconds) {
  const std::chrono::sys_seconds t{std::chrono::seconds(epoch_seconds)};
  const auto day_start = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day_start);
  const std::chrono::hh_mm_ss hms(t - day_start);
  char out[32];
  std::snprintf(out, sizeof out, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return out;
}

}  // namespace kiln::auth
