// CloudWatch Logs reads for build logs (docs/reference/codebuild-api.md §4): GetLogEvents and
// FilterLogEvents on the log group and stream that Build.logs names: /aws/codebuild/<project> and
// <uuid> (log_names.h). A group or stream that does not exist is ResourceNotFoundException, as in
// CloudWatch; filter patterns are compiled by filter_pattern.h.
#include <algorithm>
#include <charconv>
#include <deque>
#include <optional>
#include <set>
#include <tuple>

#include "api/filter_pattern.h"
#include "api/log_events.h"
#include "api/log_names.h"
#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// CloudWatch Logs answers at most 1 MB of events per call (GetLogEvents, FilterLogEvents):
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
constexpr std::size_t kMaxLogPageBytes = std::size_t{1} << 20;
constexpr std::size_t kEventOverhead = 26;

// Tokens are "f/<index>" and "b/<index>": positions in the stream's events.
std::optional<std::pair<char, std::size_t>> parse_token(const std::string& t) {
  if (t.size() < 3 || (t[0] != 'f' && t[0] != 'b') || t[1] != '/') return std::nullopt;
  std::size_t n = 0;
  const auto r = std::from_chars(t.data() + 2, t.data() + t.size(), n);
  if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
  return std::pair{t[0], n};
}

// FilterLogEvents' tokens: "f/<timestamp>/<stream>/<index>", the key of the last event given.
struct FilterKey {
  std::int64_t ts = 0;
  std::string stream;
  std::size_t index = 0;
};
std::optional<FilterKey> parse_filter_key(const std::string& t) {
  if (!t.starts_with("f/")) return std::nullopt;
  const auto a = t.find('/', 2);
  const auto b = a == std::string::npos ? a : t.rfind('/');
  if (a == std::string::npos || b <= a) return std::nullopt;
  FilterKey k;
  const auto r1 = std::from_chars(t.data() + 2, t.data() + a, k.ts);
  const auto r2 = std::from_chars(t.data() + b + 1, t.data() + t.size(), k.index);
  if (r1.ec != std::errc() || r1.ptr != t.data() + a || r2.ec != std::errc() ||
      r2.ptr != t.data() + t.size()) {
    return std::nullopt;
  }
  k.stream = t.substr(a + 1, b - a - 1);
  if (!valid_log_stream(k.stream)) return std::nullopt;
  return k;
}

}  // namespace

ApiResult<json> Service::get_log_events(const Call& c) {
  Fields f(c.in, "");
  auto project = log_group_project(f, options_.data);
  if (!project) return tl::unexpected(project.error());
  auto stream = f.string("logStreamName", true, 1, 512);
  if (!stream) return tl::unexpected(stream.error());
  if (!valid_log_stream(**stream)) return tl::unexpected(no_log_stream());
  auto start_time = f.integer("startTime", false, 0, INT64_MAX);
  if (!start_time) return tl::unexpected(start_time.error());
  auto end_time = f.integer("endTime", false, 0, INT64_MAX);
  if (!end_time) return tl::unexpected(end_time.error());
  auto limit = f.integer("limit", false, 1, 10000);
  if (!limit) return tl::unexpected(limit.error());
  auto from_head = f.boolean("startFromHead");
  if (!from_head) return tl::unexpected(from_head.error());
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());

  // Positions count the events inside the time window; a page is read from the file without
  // holding more than the page (at most `limit` events and kMaxLogPageBytes).
  auto in_window = [&](const LogEvent& e) {
    return !(*start_time && e.timestamp_ms < **start_time) &&
           !(*end_time && e.timestamp_ms >= **end_time);
  };
  const auto max = static_cast<std::size_t>(limit->value_or(10000));
  std::optional<std::pair<char, std::size_t>> t;
  if (*token) {
    t = parse_token(**token);
    if (!t) return invalid_input("The specified nextToken is invalid.");
  }
  // Forward pages start at a position; backward ones (the default: the newest events) end at one.
  const bool forward = t ? t->first == 'f' : from_head->value_or(false);
  const std::size_t anchor = t ? t->second : 0;
  std::deque<LogEvent> page;
  std::size_t bytes = 0;
  std::size_t n = 0;  // window events seen
  bool full = false;
  const bool opened = for_each_event(
      options_.data.log_path(*project, **stream), [&](std::size_t, const LogEvent& e) {
        if (!in_window(e)) return true;
        const std::size_t pos = n++;
        if (forward) {
          if (pos < anchor) return true;
          const std::size_t size = e.message.size() + kEventOverhead;
          if (page.size() >= max || (!page.empty() && bytes + size > kMaxLogPageBytes)) {
            full = true;
            return false;
          }
          page.push_back(e);
          bytes += size;
          return true;
        }
        if (t && pos >= anchor) return false;
        page.push_back(e);
        bytes += e.message.size() + kEventOverhead;
        while (page.size() > max || (page.size() > 1 && bytes > kMaxLogPageBytes)) {
          bytes -= page.front().message.size() + kEventOverhead;
          page.pop_front();
        }
        return true;
      });
  if (!opened) return tl::unexpected(no_log_stream());
  std::size_t begin = 0;
  std::size_t end = 0;
  if (forward) {
    if (!full && page.empty() && anchor > n) {
      return invalid_input("The specified nextToken is invalid.");
    }
    begin = anchor;
    end = anchor + page.size();
  } else {
    end = t ? anchor : n;
    if (t && anchor > n) return invalid_input("The specified nextToken is invalid.");
    begin = end - page.size();
  }
  json out_events = json::array();
  for (const auto& e : page) {
    out_events.push_back(
        {{"timestamp", e.timestamp_ms}, {"message", e.message}, {"ingestionTime", e.timestamp_ms}});
  }
  return json{{"events", out_events},
              {"nextForwardToken", "f/" + std::to_string(end)},
              {"nextBackwardToken", "b/" + std::to_string(begin)}};
}

ApiResult<json> Service::filter_log_events(const Call& c) {
  Fields f(c.in, "");
  auto project = log_group_project(f, options_.data);
  if (!project) return tl::unexpected(project.error());
  auto streams = f.list("logStreamNames", false, 100);
  if (!streams) return tl::unexpected(streams.error());
  auto stream_prefix = f.string("logStreamNamePrefix", false, 1, 512);
  if (!stream_prefix) return tl::unexpected(stream_prefix.error());
  if (*streams && *stream_prefix) {
    return api_fail("InvalidParameterException",
                    "Cannot specify both logStreamNames and logStreamNamePrefix.");
  }
  auto pattern = f.string("filterPattern", false, 0, 1024);
  if (!pattern) return tl::unexpected(pattern.error());
  auto start_time = f.integer("startTime", false, 0, INT64_MAX);
  if (!start_time) return tl::unexpected(start_time.error());
  auto end_time = f.integer("endTime", false, 0, INT64_MAX);
  if (!end_time) return tl::unexpected(end_time.error());
  auto limit = f.integer("limit", false, 1, 10000);
  if (!limit) return tl::unexpected(limit.error());
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());

  auto filter = FilterPattern::compile(pattern->value_or(""));
  if (!filter) return api_fail("InvalidParameterException", filter.error().message());

  std::vector<std::string> names;
  if (*streams) {
    for (const auto& s : **streams) {
      if (s.is_string() && valid_log_stream(s.get_ref<const std::string&>())) names.push_back(s);
    }
  } else {
    for (auto& s : list_streams(log_group_dir(options_.data, *project), true)) {
      if (!*stream_prefix || s.name.starts_with(**stream_prefix))
        names.push_back(std::move(s.name));
    }
  }
  // Matches are ordered by (timestamp, stream, index); a page keeps only the smallest `limit`
  // after the token's key, within kMaxLogPageBytes, so memory is bounded by the page.
  struct Found {
    std::int64_t ts;
    std::string stream;
    std::size_t index;
    std::string message;
    bool operator<(const Found& o) const {
      return std::tie(ts, stream, index) < std::tie(o.ts, o.stream, o.index);
    }
  };
  std::optional<Found> after;
  if (*token) {
    const auto key = parse_filter_key(**token);
    if (!key) return invalid_input("The specified nextToken is invalid.");
    after = Found{key->ts, key->stream, key->index, ""};
  }
  const auto max = static_cast<std::size_t>(limit->value_or(10000));
  std::multiset<Found> page;
  std::size_t bytes = 0;
  bool more = false;
  json searched = json::array();
  Found probe;
  for (const auto& name : names) {
    const bool opened = for_each_event(
        options_.data.log_path(*project, name), [&](std::size_t i, const LogEvent& e) {
          if (*start_time && e.timestamp_ms < **start_time) return true;
          if (*end_time && e.timestamp_ms > **end_time) return true;
          if (!filter->matches(e.message)) return true;
          probe.ts = e.timestamp_ms;
          probe.stream = name;
          probe.index = i;
          if (after && !(*after < probe)) return true;
          if (page.size() >= max && !(probe < *page.rbegin())) {
            more = true;
            return true;
          }
          probe.message = e.message;
          bytes += probe.message.size() + kEventOverhead;
          page.insert(probe);
          while (page.size() > max || (page.size() > 1 && bytes > kMaxLogPageBytes)) {
            auto last = std::prev(page.end());
            bytes -= last->message.size() + kEventOverhead;
            page.erase(last);
            more = true;
          }
          return true;
        });
    if (opened) searched.push_back({{"logStreamName", name}, {"searchedCompletely", true}});
  }
  json events = json::array();
  for (const auto& m : page) {
    events.push_back({{"logStreamName", m.stream},
                      {"timestamp", m.ts},
                      {"message", m.message},
                      {"ingestionTime", m.ts},
                      {"eventId", m.stream + "/" + std::to_string(m.index)}});
  }
  json out = {{"events", events}, {"searchedLogStreams", searched}};
  if (more && !page.empty()) {
    const Found& last = *page.rbegin();
    out["nextToken"] =
        "f/" + std::to_string(last.ts) + "/" + last.stream + "/" + std::to_string(last.index);
  }
  return out;
}

}  // namespace kiln::api
