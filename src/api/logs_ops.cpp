// CloudWatch Logs reads for build logs (codebuild-api §4): GetLogEvents and FilterLogEvents on
// the log group and stream that Build.logs names: /aws/codebuild/<project> and <uuid>.
#include <algorithm>
#include <charconv>

#include "api/log_events.h"
#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"
#include "util/files.h"

namespace kiln::api {
namespace {

using nlohmann::json;
constexpr std::string_view kGroupPrefix = "/aws/codebuild/";

ApiResult<std::string> project_of_group(const Fields& f) {
  auto group = f.string("logGroupName", false, 1, 512);
  if (!group) return tl::unexpected(group.error());
  if (!*group) {
    auto ident = f.string("logGroupIdentifier", false, 1, 2048);
    if (!ident) return tl::unexpected(ident.error());
    if (!*ident) return invalid_input("logGroupName or logGroupIdentifier is required");
    group = ident;
  }
  std::string g = **group;
  if (const auto at = g.find(":log-group:"); at != std::string::npos) g = g.substr(at + 11);
  if (!g.starts_with(kGroupPrefix) || !valid_project_name(g.substr(kGroupPrefix.size()))) {
    return api_fail("ResourceNotFoundException", "The specified log group does not exist.");
  }
  return g.substr(kGroupPrefix.size());
}

// Stream names are build uuids: hex and dashes only, so they can name a file.
bool valid_stream(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) || c == '-'; });
}

ApiResult<std::vector<LogEvent>> read_stream(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text)
    return api_fail("ResourceNotFoundException", "The specified log stream does not exist.");
  return split_log(*text);
}

// Tokens are "f/<index>" and "b/<index>": positions in the stream's events.
std::optional<std::pair<char, std::size_t>> parse_token(const std::string& t) {
  if (t.size() < 3 || (t[0] != 'f' && t[0] != 'b') || t[1] != '/') return std::nullopt;
  std::size_t n = 0;
  const auto r = std::from_chars(t.data() + 2, t.data() + t.size(), n);
  if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
  return std::pair{t[0], n};
}

}  // namespace

ApiResult<json> Service::get_log_events(const Call& c) {
  Fields f(c.in, "");
  auto project = project_of_group(f);
  if (!project) return tl::unexpected(project.error());
  auto stream = f.string("logStreamName", true, 1, 512);
  if (!stream) return tl::unexpected(stream.error());
  if (!valid_stream(**stream))
    return api_fail("ResourceNotFoundException", "The specified log stream does not exist.");
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

  auto all = read_stream(options_.data.log_path(*project, **stream));
  if (!all) return tl::unexpected(all.error());
  std::vector<LogEvent> events;
  for (auto& e : *all) {
    if (*start_time && e.timestamp_ms < **start_time) continue;
    if (*end_time && e.timestamp_ms >= **end_time) continue;
    events.push_back(std::move(e));
  }
  const std::size_t n = events.size();
  const auto max = static_cast<std::size_t>(limit->value_or(10000));
  std::size_t begin = 0;
  std::size_t end = n;
  if (*token) {
    const auto t = parse_token(**token);
    if (!t || t->second > n) return invalid_input("The specified nextToken is invalid.");
    if (t->first == 'f') {
      begin = t->second;
      end = std::min(n, begin + max);
    } else {
      end = t->second;
      begin = end > max ? end - max : 0;
    }
  } else if (from_head->value_or(false)) {
    end = std::min(n, max);
  } else {
    begin = n > max ? n - max : 0;  // CloudWatch's default: the newest events
  }
  json out_events = json::array();
  for (std::size_t i = begin; i < end; ++i) {
    out_events.push_back({{"timestamp", events[i].timestamp_ms},
                          {"message", events[i].message},
                          {"ingestionTime", events[i].timestamp_ms}});
  }
  return json{{"events", out_events},
              {"nextForwardToken", "f/" + std::to_string(end)},
              {"nextBackwardToken", "b/" + std::to_string(begin)}};
}

ApiResult<json> Service::filter_log_events(const Call& c) {
  Fields f(c.in, "");
  auto project = project_of_group(f);
  if (!project) return tl::unexpected(project.error());
  auto streams = f.list("logStreamNames", false, 100);
  if (!streams) return tl::unexpected(streams.error());
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

  std::vector<std::string> names;
  if (*streams) {
    for (const auto& s : **streams) {
      if (s.is_string() && valid_stream(s.get_ref<const std::string&>())) names.push_back(s);
    }
  } else {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(
             options_.data.log_path(*project, "x").parent_path(), ec)) {
      if (e.path().extension() == ".log") names.push_back(e.path().stem().string());
    }
    std::sort(names.begin(), names.end());
  }
  // The filter pattern's terms must all appear (CloudWatch's plain-term syntax); a quoted
  // pattern is one term.
  std::vector<std::string> terms;
  if (*pattern) {
    std::string p = **pattern;
    if (p.size() >= 2 && p.front() == '"' && p.back() == '"') {
      terms.push_back(p.substr(1, p.size() - 2));
    } else {
      for (std::size_t i = 0; i < p.size();) {
        const auto sp = p.find(' ', i);
        const auto word = p.substr(i, sp == std::string::npos ? std::string::npos : sp - i);
        if (!word.empty()) terms.push_back(word);
        if (sp == std::string::npos) break;
        i = sp + 1;
      }
    }
  }
  struct Found {
    std::int64_t ts;
    std::string stream;
    std::size_t index;
    std::string message;
  };
  std::vector<Found> found;
  json searched = json::array();
  for (const auto& name : names) {
    auto events = read_stream(options_.data.log_path(*project, name));
    if (!events) continue;
    searched.push_back({{"logStreamName", name}, {"searchedCompletely", true}});
    for (std::size_t i = 0; i < events->size(); ++i) {
      auto& e = (*events)[i];
      if (*start_time && e.timestamp_ms < **start_time) continue;
      if (*end_time && e.timestamp_ms > **end_time) continue;
      const bool match = std::all_of(terms.begin(), terms.end(), [&](const std::string& t) {
        return e.message.find(t) != std::string::npos;
      });
      if (match) found.push_back({e.timestamp_ms, name, i, std::move(e.message)});
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const Found& a, const Found& b) { return a.ts < b.ts; });
  std::size_t begin = 0;
  if (*token) {
    const auto t = parse_token(**token);
    if (!t || t->first != 'f' || t->second > found.size())
      return invalid_input("The specified nextToken is invalid.");
    begin = t->second;
  }
  const std::size_t end =
      std::min(found.size(), begin + static_cast<std::size_t>(limit->value_or(10000)));
  json events = json::array();
  for (std::size_t i = begin; i < end; ++i) {
    events.push_back({{"logStreamName", found[i].stream},
                      {"timestamp", found[i].ts},
                      {"message", found[i].message},
                      {"ingestionTime", found[i].ts},
                      {"eventId", found[i].stream + "/" + std::to_string(found[i].index)}});
  }
  json out = {{"events", events}, {"searchedLogStreams", searched}};
  if (end < found.size()) out["nextToken"] = "f/" + std::to_string(end);
  return out;
}

}  // namespace kiln::api
