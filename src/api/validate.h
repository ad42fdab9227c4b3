// Input validation against the CodeBuild model's constraints (docs/reference/codebuild-api.md
// §1.5): botocore only checks `required`, `min` and JSON types, so lengths, ranges, patterns and
// enums are ours. Every message names the member by its path, in AWS's "1 validation error
// detected" form. Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"

namespace kiln::api {

using nlohmann::json;

// Kiln's bounds where the CodeBuild model documents none (docs/server.md "Request limits"): they
// keep one request from being stored and then multiplied by the Batch* reads.

// A string member without a bound of its own.
inline constexpr std::size_t kMaxStringLength = std::size_t{64} * 1024;
// Names or ids per Batch* call (CodeBuild's model).
inline constexpr std::size_t kMaxBatchItems = 100;
// An answer larger than this is refused (response_too_large) instead of assembled.
inline constexpr std::size_t kMaxResponseBytes = std::size_t{16} * 1024 * 1024;

// Reads members of one JSON object; `where` is the member path shown in messages ("environment").
class Fields {
 public:
  Fields(const json& object, std::string where) : j_(object), where_(std::move(where)) {}

  // A string member; nullopt when absent. Checks type and length.
  ApiResult<std::optional<std::string>> string(std::string_view name, bool required,
                                               std::size_t min_len = 0,
                                               std::size_t max_len = kMaxStringLength) const;
  ApiResult<std::optional<std::string>> one_of(std::string_view name, bool required,
                                               std::span<const std::string_view> values) const;
  ApiResult<std::optional<std::string>> one_of(
      std::string_view name, bool required, std::initializer_list<std::string_view> values) const {
    return one_of(name, required, std::span<const std::string_view>(values.begin(), values.size()));
  }
  // An integer member within [min, max]. Numbers beyond long long's range (JSON allows them) are
  // refused against the bound they pass, never wrapped; fractions are not integers.
  ApiResult<std::optional<long long>> integer(std::string_view name, bool required, long long min,
                                              long long max) const;
  ApiResult<std::optional<bool>> boolean(std::string_view name) const;
  // An object member (nullptr when absent) or a list (checked for size).
  ApiResult<const json*> object(std::string_view name, bool required) const;
  ApiResult<const json*> list(std::string_view name, bool required, std::size_t max_items) const;
  // A Batch* list of 1..max_items strings of 1..max_len characters, each kept once, in the order
  // first given: CodeBuild answers each name or id once however often it is asked for.
  ApiResult<std::vector<std::string>> unique_strings(std::string_view name, std::size_t max_items,
                                                     std::size_t max_len) const;

  std::string path(std::string_view name) const;

 private:
  const json* member(std::string_view name) const;
  const json& j_;
  std::string where_;
};

// AWS's wording: "1 validation error detected: Value '<v>' at '<path>' failed to satisfy
// constraint: <constraint>".
tl::unexpected<ApiError> constraint_error(const std::string& value, const std::string& path,
                                          const std::string& constraint);

// The refusal of an answer over kMaxResponseBytes: the caller's request asks for too much at
// once (400, so clients do not retry it unchanged).
tl::unexpected<ApiError> response_too_large(std::string_view what);

// [A-Za-z0-9][A-Za-z0-9\-_]{1,149}, matched against the whole name.
bool valid_project_name(std::string_view name);

}  // namespace kiln::api
