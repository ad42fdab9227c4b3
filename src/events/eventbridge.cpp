#include "events/eventbridge.h"

#include <ctime>
#include <string_view>

#include "util/files.h"

namespace kiln::events {
namespace {

using nlohmann::json;

// Phases a build passes while still waiting: leaving them is "the build started".
bool waiting_phase(std::string_view type) {
  return type == "SUBMITTED" || type == "QUEUED" || type == "COMPLETED";
}

bool has_number(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number();
}

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The contexts of a phase as CodeBuild's events show them: "statusCode: message" strings; the
// engine stores one empty context for a phase that ended without one, which shows as none.
json context_list(const json& phase) {
  json out = json::array();
  const auto it = phase.find("contexts");
  if (it == phase.end() || !it->is_array()) return out;
  for (const auto& c : *it) {
    const std::string code = str(c, "statusCode");
    const std::string message = str(c, "message");
    if (code.empty() && message.empty()) continue;
    out.push_back(code + ": " + message);
  }
  return out;
}

// current-phase-context and completed-phase-context are one string: "[a, b]".
std::string context_string(const json& phase) {
  std::string s = "[";
  for (const auto& c : context_list(phase)) {
    if (s.size() > 1) s += ", ";
    s += c.get<std::string>();
  }
  return s + "]";
}

json phase_detail(const json& p) {
  json d{{"phase-type", str(p, "phaseType")}};
  if (has_number(p, "startTime")) d["start-time"] = detail_time(p["startTime"].get<double>());
  if (!has_number(p, "endTime")) return d;  // the phase in progress (COMPLETED, in the samples)
  d["phase-context"] = context_list(p);
  d["end-time"] = detail_time(p["endTime"].get<double>());
  d["duration-in-seconds"] = has_number(p, "durationInSeconds") ? p["durationInSeconds"] : json(0);
  d["phase-status"] = str(p, "phaseStatus");
  return d;
}

json environment_detail(const json& env) {
  json vars = json::array();
  if (const auto it = env.find("environmentVariables"); it != env.end() && it->is_array()) {
    // The record holds a project's variables as defined: a PARAMETER_STORE or SECRETS_MANAGER
    // variable's value is the parameter's or secret's NAME, never what it resolves to (the
    // engine resolves them into the build's processes only), as in CodeBuild's own events.
    for (const auto& v : *it)
      vars.push_back(
          {{"name", str(v, "name")}, {"type", str(v, "type")}, {"value", str(v, "value")}});
  }
  return {{"image", str(env, "image")},
          {"privileged-mode", env.value("privilegedMode", false)},
          {"compute-type", str(env, "computeType")},
          {"type", str(env, "type")},
          {"environment-variables", vars}};
}

json additional_information(const json& b, const Where& where) {
  json info = json::object();
  json artifact = json::object();
  if (const auto it = b.find("artifacts"); it != b.end() && it->is_object()) {
    for (const char* k : {"md5sum", "sha256sum", "location"})
      if (it->contains(k)) artifact[k] = (*it)[k];
  }
  info["artifact"] = artifact;
  info["environment"] = environment_detail(b.value("environment", json::object()));
  if (b.contains("timeoutInMinutes")) info["timeout-in-minutes"] = b["timeoutInMinutes"];
  info["build-complete"] = b.value("buildComplete", false);
  if (b.contains("buildNumber")) info["build-number"] = b["buildNumber"];
  info["initiator"] = str(b, "initiator");
  if (has_number(b, "startTime"))
    info["build-start-time"] = detail_time(b["startTime"].get<double>());
  info["source"] = b.value("source", json::object());
  if (b.contains("sourceVersion")) info["source-version"] = b["sourceVersion"];
  const json logs = b.value("logs", json::object());
  const std::string group = str(logs, "groupName");
  const std::string stream = str(logs, "streamName");
  // CodeBuild's console link, kept for clients that parse it; Kiln's own copy of the log is at
  // GET /logs/<project>/<uuid> (docs/events.md).
  info["logs"] = {
      {"group-name", group},
      {"stream-name", stream},
      {"deep-link", "https://console.aws.amazon.com/cloudwatch/home?region=" + where.region +
                        "#logEvent:group=" + group + ";stream=" + stream}};
  json phases = json::array();
  if (const auto it = b.find("phases"); it != b.end() && it->is_array())
    for (const auto& p : *it) phases.push_back(phase_detail(p));
  info["phases"] = phases;
  return info;
}

// CodeBuild's EventBridge docs list four build-status values (§12); a build that ends FAULT or
// TIMED_OUT is FAILED there. Its phases keep the exact status (docs/events.md).
std::string event_status(const std::string& build_status) {
  if (build_status == "SUCCEEDED" || build_status == "STOPPED" || build_status == "IN_PROGRESS")
    return build_status;
  return "FAILED";
}

json envelope(const char* detail_type, const json& b, json detail, const Where& where,
              std::chrono::system_clock::time_point now) {
  return {{"version", "0"},
          {"id", make_uuid()},
          {"detail-type", detail_type},
          {"source", "aws.codebuild"},
          {"account", where.account},
          {"time", envelope_time(now)},
          {"region", where.region},
          {"resources", json::array({str(b, "arn")})},
          {"detail", std::move(detail)}};
}

const json* find_phase(const json& b, std::string_view type) {
  const auto it = b.find("phases");
  if (it == b.end() || !it->is_array()) return nullptr;
  for (const auto& p : *it)
    if (p.is_object() && str(p, "phaseType") == type) return &p;
  return nullptr;
}

json state_event(const json& b, bool final, const Where& where,
                 std::chrono::system_clock::time_point now) {
  const std::string current = final ? "COMPLETED" : str(b, "currentPhase");
  const json* phase = find_phase(b, current);
  json detail{{"build-status", final ? event_status(str(b, "buildStatus")) : "IN_PROGRESS"},
              {"project-name", str(b, "projectName")},
              {"build-id", str(b, "arn")},
              {"additional-information", additional_information(b, where)},
              {"current-phase", current},
              {"current-phase-context", phase != nullptr ? context_string(*phase) : "[]"},
              {"version", "1"}};
  return envelope(kStateChange, b, std::move(detail), where, now);
}

json phase_event(const json& b, const json& p, const Where& where,
                 std::chrono::system_clock::time_point now) {
  json detail{{"completed-phase", str(p, "phaseType")},
              {"project-name", str(b, "projectName")},
              {"build-id", str(b, "arn")},
              {"completed-phase-context", context_string(p)},
              {"additional-information", additional_information(b, where)},
              {"completed-phase-status", str(p, "phaseStatus")},
              {"completed-phase-duration-seconds",
               has_number(p, "durationInSeconds") ? p["durationInSeconds"] : json(0)},
              {"version", "1"},
              {"completed-phase-start", detail_time(p.value("startTime", 0.0))},
              {"completed-phase-end", detail_time(p["endTime"].get<double>())}};
  return envelope(kPhaseChange, b, std::move(detail), where, now);
}

}  // namespace

std::vector<std::string> milestones(const json& record) {
  std::vector<std::string> out;
  bool started = false;
  if (const auto it = record.find("phases"); it != record.end() && it->is_array()) {
    for (const auto& p : *it) {
      if (!p.is_object()) continue;
      const std::string type = str(p, "phaseType");
      // The build starts when it leaves the queue: after the waiting phases' ends, before the
      // phases it runs.
      if (!started && !waiting_phase(type)) {
        started = true;
        out.emplace_back("state:IN_PROGRESS");
      }
      if (has_number(p, "endTime")) out.push_back("phase:" + type);
    }
  }
  if (record.value("buildComplete", false)) out.emplace_back("state:final");
  return out;
}

std::vector<BuildEvent> build_events(const store::BuildChange& change,
                                     const std::set<std::string>& sent, const Where& where,
                                     std::chrono::system_clock::time_point now) {
  std::vector<BuildEvent> out;
  if (change.batch || !change.after.is_object()) return out;
  if (sent.contains("state:final")) return out;  // everything was sent
  std::set<std::string> before;
  if (change.before.is_object())
    for (auto& m : milestones(change.before)) before.insert(std::move(m));
  const json& b = change.after;
  for (const auto& m : milestones(b)) {
    if (before.contains(m) || sent.contains(m)) continue;
    if (m == "state:IN_PROGRESS") {
      out.push_back({m, state_event(b, false, where, now)});
    } else if (m == "state:final") {
      out.push_back({m, state_event(b, true, where, now)});
    } else {
      const json* p = find_phase(b, std::string_view(m).substr(6));
      if (p != nullptr) out.push_back({m, phase_event(b, *p, where, now)});
    }
  }
  return out;
}

std::string milestone_of(const json& event) {
  const json detail = event.value("detail", json::object());
  if (event.value("detail-type", "") == kPhaseChange)
    return "phase:" + str(detail, "completed-phase");
  return str(detail, "build-status") == "IN_PROGRESS" ? "state:IN_PROGRESS" : "state:final";
}

std::string detail_time(double epoch_seconds) {
  const auto t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %d, %d %d:%02d:%02d %s", kMonths[tm.tm_mon], tm.tm_mday,
                tm.tm_year + 1900, hour12, tm.tm_min, tm.tm_sec, tm.tm_hour < 12 ? "AM" : "PM");
  return buf;
}

std::string envelope_time(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace kiln::events
