// Errors of the AWS JSON 1.1 protocol (docs/reference/codebuild-api.md §1.4): a `__type` and a
// message, sent with HTTP 400 unless said otherwise. Never 5xx for a client's mistake: clients
// retry 5xx.
#pragma once

#include <string>

#include <tl/expected.hpp>

namespace kiln::api {

struct ApiError {
  std::string type;
  std::string message;
  int status = 400;
};

template <typename T>
using ApiResult = tl::expected<T, ApiError>;

inline tl::unexpected<ApiError> api_fail(std::string type, std::string message) {
  return tl::unexpected(ApiError{std::move(type), std::move(message)});
}
inline tl::unexpected<ApiError> invalid_input(std::string message) {
  return api_fail("InvalidInputException", std::move(message));
}
inline tl::unexpected<ApiError> not_found(std::string message) {
  return api_fail("ResourceNotFoundException", std::move(message));
}

}  // namespace kiln::api
