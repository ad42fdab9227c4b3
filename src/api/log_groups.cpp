// CloudWatch Logs DescribeLogGroups and DescribeLogStreams over build logs (log_names.h).
// Choices where Kiln has less than CloudWatch (docs/server.md, "Logs"): groups never expire (no
// retentionInDays), have no metric filters and are of class STANDARD; a group's storedBytes is
// the size of its logs; a stream's storedBytes is 0, as CloudWatch has reported for streams
// since 2019; creation times are the files' birth times (their change times where the file
// system keeps none).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/log_events.h"
#include "api/log_names.h"
#include "api/service.h"
#include "logs/time_index.h"

namespace kiln::api {
namespace {

using nlohmann::json;

constexpr long long kDescribeLimit = 50;  // the model's DescribeLimit: 1..50, 50 by default

struct FileTimes {
  std::int64_t birth_ms = 0;
  std::int64_t mtime_ms = 0;
  std::uint64_t size = 0;
};

std::optional<FileTimes> file_times(const std::filesystem::path& p) {
  struct statx sx {};
  if (::statx(AT_FDCWD, p.c_str(), 0, STATX_BTIME | STATX_MTIME | STATX_CTIME | STATX_SIZE, &sx) !=
      0) {
    return std::nullopt;
  }
  auto ms = [](const statx_timestamp& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
  };
  FileTimes t;
  t.birth_ms = (sx.stx_mask & STATX_BTIME) != 0 ? ms(sx.stx_btime) : ms(sx.stx_ctime);
  t.mtime_ms = ms(sx.stx_mtime);
  t.size = sx.stx_size;
  return t;
}

bool starts_with(std::string_view s, const std::optional<std::string>& prefix) {
  return !prefix || s.starts_with(*prefix);
}

bool contains_ci(std::string_view s, std::string_view needle) {
  return std::search(s.begin(), s.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         }) != s.end();
}

// Page tokens: "k/<key>/<name>" after the last item given, in the listing's order.
std::string page_token(std::int64_t key, const std::string& name) {
  return "k/" + std::to_string(key) + "/" + name;
}
bool parse_page_token(const std::string& t, std::int64_t& key, std::string& name) {
  if (!t.starts_with("k/")) return false;
  const auto slash = t.find('/', 2);
  if (slash == std::string::npos) return false;
  const auto r = std::from_chars(t.data() + 2, t.data() + slash, key);
  if (r.ec != std::errc() || r.ptr != t.data() + slash) return false;
  name = t.substr(slash + 1);
  return true;
}

ApiError bad_token() {
  return {"InvalidParameterException", "The specified nextToken is invalid.", 400};
}

}  // namespace

bool valid_log_stream(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) || c == '-'; });
}

ApiResult<std::string> log_group_project(const Fields& f, const DataLayout& data) {
  auto group = f.string("logGroupName", false, 1, 512);
  if (!group) return tl::unexpected(group.error());
  auto ident = f.string("logGroupIdentifier", false, 1, 2048);
  if (!ident) return tl::unexpected(ident.error());
  if (*group && *ident) {
    return api_fail("InvalidParameterException",
                    "LogGroup name and LogGroup ARN are mutually exclusive parameters.");
  }
  if (!*group && !*ident) {
    return api_fail("InvalidParameterException",
                    "Either logGroupName or logGroupIdentifier must be specified.");
  }
  std::string g = *group ? **group : **ident;
  if (const auto at = g.find(":log-group:"); at != std::string::npos) g = g.substr(at + 11);
  if (g.ends_with(":*")) g.resize(g.size() - 2);
  if (!g.starts_with(kLogGroupPrefix)) return tl::unexpected(no_log_group());
  std::string project = g.substr(kLogGroupPrefix.size());
  std::error_code ec;
  if (!valid_project_name(project) ||
      !std::filesystem::is_directory(log_group_dir(data, project), ec))
    return tl::unexpected(no_log_group());
  return project;
}

std::vector<StreamInfo> list_streams(const std::filesystem::path& dir, bool stat_only) {
  std::vector<StreamInfo> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".log" || !valid_log_stream(e.path().stem().string())) continue;
    const auto times = file_times(e.path());
    if (!times) continue;  // removed meanwhile (BatchDeleteBuilds)
    StreamInfo s;
    s.name = e.path().stem().string();
    s.creation_ms = times->birth_ms;
    s.bytes = times->size;
    if (!stat_only && times->size > 0) {
      for_each_event(e.path(), [&](std::size_t, const LogEvent& ev) {
        s.first_event_ms = ev.timestamp_ms;
        return false;
      });
      const auto bounds = logs::read_time_bounds(logs::time_index_path(e.path()));
      // Without an index the last event is as late as the file's last write.
      s.last_event_ms = bounds ? bounds->last_ms : std::max(times->mtime_ms, s.first_event_ms);
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const StreamInfo& a, const StreamInfo& b) { return a.name < b.name; });
  return out;
}

ApiResult<json> Service::describe_log_groups(const Call& c) {
  Fields f(c.in, "");
  auto prefix = f.string("logGroupNamePrefix", false, 1, 512);
  if (!prefix) return tl::unexpected(prefix.error());
  auto pattern = f.string("logGroupNamePattern", false, 0, 512);
  if (!pattern) return tl::unexpected(pattern.error());
  auto limit = f.integer("limit", false, 1, kDescribeLimit);
  if (!limit) return tl::unexpected(limit.error());
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());
  if (*prefix && *pattern) {
    return api_fail("InvalidParameterException",
                    "LogGroup name prefix and LogGroup name pattern are mutually exclusive "
                    "parameters.");
  }
  std::string after;
  if (*token) {
    std::int64_t unused = 0;
    if (!parse_page_token(**token, unused, after)) return tl::unexpected(bad_token());
  }
  std::vector<std::string> projects;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(log_group_dir(options_.data, "x").parent_path(), ec)) {
    const std::string project = e.path().filename().string();
    const std::string name = std::string(kLogGroupPrefix) + project;
    if (!e.is_directory(ec) || !valid_project_name(project) || !starts_with(name, *prefix))
      continue;
    if (*pattern && !contains_ci(name, **pattern)) continue;
    if (*token && name <= after) continue;
    projects.push_back(project);
  }
  std::sort(projects.begin(), projects.end());
  const auto max = static_cast<std::size_t>(limit->value_or(kDescribeLimit));
  json groups = json::array();
  const std::string base = "arn:aws:logs:" + c.region + ":" + options_.account.id + ":log-group:";
  for (std::size_t i = 0; i < projects.size() && i < max; ++i) {
    const std::string name = std::string(kLogGroupPrefix) + projects[i];
    const auto dir = log_group_dir(options_.data, projects[i]);
    std::uint64_t bytes = 0;
    for (const auto& s : list_streams(dir, true)) bytes += s.bytes;
    const auto times = file_times(dir);
    groups.push_back({{"logGroupName", name},
                      {"creationTime", times ? times->birth_ms : 0},
                      {"metricFilterCount", 0},
                      {"arn", base + name + ":*"},
                      {"logGroupArn", base + name},
                      {"logGroupClass", "STANDARD"},
                      {"storedBytes", bytes}});
  }
  json out = {{"logGroups", groups}};
  if (projects.size() > max) out["nextToken"] = page_token(0, groups.back()["logGroupName"]);
  return out;
}

ApiResult<json> Service::describe_log_streams(const Call& c) {
  Fields f(c.in, "");
  auto project = log_group_project(f, options_.data);
  if (!project) return tl::unexpected(project.error());
  auto prefix = f.string("logStreamNamePrefix", false, 1, 512);
  if (!prefix) return tl::unexpected(prefix.error());
  auto order = f.one_of("orderBy", false, {"LogStreamName", "LastEventTime"});
  if (!order) return tl::unexpected(order.error());
  auto descending = f.boolean("descending");
  if (!descending) return tl::unexpected(descending.error());
  auto limit = f.integer("limit", false, 1, kDescribeLimit);
  if (!limit) return tl::unexpected(limit.error());
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());
  const bool by_time = order->value_or("LogStreamName") == "LastEventTime";
  if (by_time && *prefix) {
    return api_fail("InvalidParameterException",
                    "Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  const bool desc = descending->value_or(false);
  auto streams = list_streams(log_group_dir(options_.data, *project), false);
  std::erase_if(streams, [&](const StreamInfo& s) { return !starts_with(s.name, *prefix); });
  // The listing's order is by (key, name); key is the last event's time or 0.
  auto key = [by_time](const StreamInfo& s) { return by_time ? s.last_event_ms : 0; };
  auto before = [&](std::int64_t ka, const std::string& na, std::int64_t kb,
                    const std::string& nb) {
    return desc ? std::tie(kb, nb) < std::tie(ka, na) : std::tie(ka, na) < std::tie(kb, nb);
  };
  std::sort(streams.begin(), streams.end(), [&](const StreamInfo& a, const StreamInfo& b) {
    return before(key(a), a.name, key(b), b.name);
  });
  std::size_t begin = 0;
  if (*token) {
    std::int64_t k = 0;
    std::string name;
    if (!parse_page_token(**token, k, name)) return tl::unexpected(bad_token());
    while (begin < streams.size() && !before(k, name, key(streams[begin]), streams[begin].name))
      ++begin;
  }
  const auto max = static_cast<std::size_t>(limit->value_or(kDescribeLimit));
  const std::string group_arn = "arn:aws:logs:" + c.region + ":" + options_.account.id +
                                ":log-group:" + std::string(kLogGroupPrefix) + *project;
  json out_streams = json::array();
  std::size_t i = begin;
  for (; i < streams.size() && out_streams.size() < max; ++i) {
    const auto& s = streams[i];
    json j = {{"logStreamName", s.name},
              {"creationTime", s.creation_ms},
              {"arn", group_arn + ":log-stream:" + s.name},
              {"storedBytes", 0}};
    if (s.first_event_ms >= 0) {
      j["firstEventTimestamp"] = s.first_event_ms;
      j["lastEventTimestamp"] = s.last_event_ms;
      j["lastIngestionTime"] = s.last_event_ms;
    }
    out_streams.push_back(std::move(j));
  }
  json out = {{"logStreams", out_streams}};
  if (i < streams.size()) out["nextToken"] = page_token(key(streams[i - 1]), streams[i - 1].name);
  return out;
}

}  // namespace kiln::api
