// Helpers shared by the operation files (projects_ops.cpp, builds_ops.cpp, logs_ops.cpp,
// report_groups_ops.cpp, reports_ops.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "api/validate.h"
#include "store/store.h"
#include "util/error.h"

namespace kiln::api {

// A store or file error as the wire shows it: missing things and bad tokens are the caller's
// doing (400); anything else is ours (500 InternalFailure, which clients retry).
inline ApiError from_error(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kNotFound: return {"ResourceNotFoundException", e.describe(), 400};
    case ErrorCode::kAlreadyExists: return {"ResourceAlreadyExistsException", e.describe(), 400};
    case ErrorCode::kInvalidArgument: return {"InvalidInputException", e.describe(), 400};
    default: return {"InternalFailure", "Kiln's store failed: " + e.describe(), 500};
  }
}

// A record the store holds as JSON text (`what`: "report group"), parsed; the store never holds
// anything else, so a failure is ours (500).
inline ApiResult<nlohmann::json> parse_stored_json(const std::string& text, std::string_view what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return tl::unexpected(
        ApiError{"InternalFailure", "a stored " + std::string(what) + " is not valid JSON", 500});
  return j;
}

// ListProjects' and ListReportGroups' sortBy (NAME | CREATED_TIME | LAST_MODIFIED_TIME) and
// sortOrder. CodeBuild documents no default; Kiln's is by name, descending (docs/server.md).
struct NameTimeSort {
  store::ProjectSort sort = store::ProjectSort::kName;
  store::SortOrder order = store::SortOrder::kDescending;
};
inline ApiResult<NameTimeSort> name_time_sort(const Fields& f) {
  auto by = f.one_of("sortBy", false, {"NAME", "CREATED_TIME", "LAST_MODIFIED_TIME"});
  if (!by) return tl::unexpected(by.error());
  auto order = f.one_of("sortOrder", false, {"ASCENDING", "DESCENDING"});
  if (!order) return tl::unexpected(order.error());
  NameTimeSort out;
  if (*by && **by == "CREATED_TIME") out.sort = store::ProjectSort::kCreatedTime;
  if (*by && **by == "LAST_MODIFIED_TIME") out.sort = store::ProjectSort::kLastModifiedTime;
  if (*order && **order == "ASCENDING") out.order = store::SortOrder::kAscending;
  return out;
}

// Batch* reads fetch stored rows this many at a time, so that the rows held at once stay small
// beside the answer, which is refused once it passes kMaxResponseBytes (validate.h).
inline constexpr std::size_t kRowsPerFetch = 10;

// Unwraps a Result into `var`, or returns the error from the enclosing ApiResult function.
#define KILN_API_TRY(var, expr)                                               \
  auto var##_result = (expr);                                                 \
  if (!var##_result) return tl::unexpected(from_error(var##_result.error())); \
  auto& var = *var##_result  // NOLINT(bugprone-macro-parentheses): var names a variable

// Returns the error of an ApiResult (any T) from the enclosing ApiResult function.
#define KILN_API_PASS(expr)                                       \
  do {                                                            \
    if (auto r_ = (expr); !r_) return tl::unexpected(r_.error()); \
  } while (false)

// The same for a Result<void>.
#define KILN_API_CHECK(expr)                                                              \
  do {                                                                                    \
    if (auto check_ = (expr); !check_) return tl::unexpected(from_error(check_.error())); \
  } while (false)

}  // namespace kiln::api
