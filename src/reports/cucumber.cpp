// CUCUMBERJSON, as cucumber-js (up to 7.3.2, §7.1) and cucumber-jvm write it: an array of
// features, each with "elements"; one case per element of type "scenario" (a Scenario
// Outline's example rows are elements of their own). A "background" element is not a case:
// its steps count as the first steps of the scenario that follows it.
// Mapping (docs/reports.md): a scenario takes the worst status of its steps and hooks
// (before, after, and cucumber-js's hidden hook steps), in cucumber's own order:
//   failed FAILED > ambiguous ERROR > undefined, pending UNKNOWN > skipped SKIPPED >
//   passed SUCCEEDED; a status cucumber does not define is UNKNOWN; no steps at all SKIPPED.
//   prefix = the feature's name, name = the scenario's name, testSuiteName = the feature's
//   name too, duration = the sum of its steps' result.duration (nanoseconds), message = the
//   worst step's error_message, or "Undefined step: Given ..." for an undefined one.
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

using nlohmann::json;

struct Worst {
  int rank = -1;
  std::string status = std::string(kSkipped);
  std::string message;
  std::int64_t duration_ns = 0;
};

// Cucumber's step statuses, best first.
int rank_of(std::string_view s) {
  if (s == "passed") return 0;
  if (s == "skipped") return 1;
  if (s == "pending") return 2;
  if (s == "undefined") return 3;
  if (s == "ambiguous") return 4;
  if (s == "failed") return 5;
  return 3;  // unknown to cucumber: as undefined, UNKNOWN
}

std::string_view map_status(std::string_view s) {
  if (s == "passed") return kSucceeded;
  if (s == "skipped") return kSkipped;
  if (s == "ambiguous") return kError;
  if (s == "failed") return kFailed;
  return kUnknown;
}

std::string string_member(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Folds one step or hook into the scenario's verdict.
void add_step(const json& step, Worst& w) {
  if (!step.is_object()) return;
  const auto result = step.find("result");
  if (result == step.end() || !result->is_object()) return;
  const std::string status = string_member(*result, "status");
  if (const auto d = result->find("duration"); d != result->end() && d->is_number()) {
    const double ns = d->get<double>();
    if (ns > 0 && ns < 9.2e18) w.duration_ns += static_cast<std::int64_t>(ns);
  }
  const int rank = rank_of(status);
  if (rank <= w.rank) return;
  w.rank = rank;
  w.status = std::string(map_status(status));
  w.message = string_member(*result, "error_message");
  if (w.message.empty() && (status == "undefined" || status == "pending")) {
    const std::string keyword = string_member(step, "keyword");
    w.message = std::string(status == "undefined" ? "Undefined step: " : "Pending step: ") +
                keyword + string_member(step, "name");
  }
}

void add_steps(const json& element, const char* key, Worst& w) {
  const auto it = element.find(key);
  if (it == element.end() || !it->is_array()) return;
  for (const json& s : *it) add_step(s, w);
}

void add_element(const json& element, Worst& w) {
  add_steps(element, "before", w);
  add_steps(element, "steps", w);
  add_steps(element, "after", w);
}

Error not_cucumber(std::string_view display, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, std::string(display) +
                                                ":1:1: not cucumber JSON (is the report group's "
                                                "file-format right?): " +
                                                std::string(what));
}

}  // namespace

Result<void> parse_cucumber(const json& doc, std::string_view display, std::string_view raw,
                            TestCaseSink& sink) {
  if (!doc.is_array())
    return tl::unexpected(not_cucumber(display, "the top level is not an array"));
  for (std::size_t f = 0; f < doc.size(); ++f) {
    const json& feature = doc[f];
    if (!feature.is_object()) {
      return tl::unexpected(
          not_cucumber(display, "feature " + std::to_string(f) + " is not an object"));
    }
    const auto elements = feature.find("elements");
    if (elements == feature.end()) continue;  // a feature with no scenarios
    if (!elements->is_array()) {
      return tl::unexpected(not_cucumber(
          display, "\"elements\" of feature " + std::to_string(f) + " is not an array"));
    }
    const std::string feature_name = string_member(feature, "name");
    Worst background;
    bool have_background = false;
    for (const json& element : *elements) {
      if (!element.is_object()) continue;
      const std::string type = string_member(element, "type");
      if (type == "background") {
        background = Worst{};
        add_element(element, background);
        have_background = true;
        continue;
      }
      if (type == "scenario_outline") continue;  // old cucumber-jvm: the template, not a run
      Worst w = have_background ? background : Worst{};
      have_background = false;
      add_element(element, w);
      TestCase c;
      c.test_raw_data_path = std::string(raw);
      c.prefix = feature_name;
      c.test_suite_name = feature_name;
      c.name = string_member(element, "name");
      c.status = w.status;
      c.duration_ns = w.duration_ns;
      c.message = std::move(w.message);
      sink.add(std::move(c));
    }
  }
  return {};
}

}  // namespace kiln::reports::detail
