// What StartBuild and StartBuildBatch share beyond Service::prepare_build (builds_ops.cpp), and
// what StopBuild and StopBuildBatch share: the idempotency check and the answer that waits for
// the stop. Thread safety: the functions are pure; the producer is called one call at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "http/server.h"
#include "util/clock.h"
#include "util/thread_annotations.h"

namespace kiln::api {

// An idempotency token named a stored build or batch: its stored request's "input" must equal
// `input` (the start input without the token), else IdempotentParameterMismatchException (the
// model's idempotencyToken doc: "a parameter mismatch error"); never the earlier one.
ApiResult<void> same_parameters(const std::string& stored_request_json, const nlohmann::json& input,
                                const std::string& token);

// The answer {member: <JSON>} of a stop: `ended` gives the stored JSON once the build or batch
// has ended, nullopt until then (or when a read fails). The HTTP server calls the producer again
// until it gives the body, one call at a time, and no thread waits in between; at `wait` past
// now it answers `fallback`, the JSON as it was. `clock` must outlive the producer.
http::BodyStream answer_when_ended(const Clock& clock, std::chrono::seconds wait,
                                   std::string member, nlohmann::json fallback,
                                   std::function<std::optional<nlohmann::json>()> ended);

// RetryBuildBatch's idempotency tokens, valid for 5 minutes as StartBuild's (the model's
// idempotencyToken doc). A retry changes a stored batch rather than adding a row, so the store
// has no row to keep them in: they live in memory, and a restarted server forgets them
// (docs/server.md "Build batches"). Thread safety: any thread.
class RetryTokens {
 public:
  enum class Claim { kNew, kSame, kMismatch };
  // kNew: the token was unknown (or older than the window) and now names `request`; kSame: it
  // names `request` already; kMismatch: another request.
  Claim claim(const std::string& token, const std::string& request, double now) EXCLUDES(mu_);
  // The claimed retry failed: the token names nothing again.
  void release(const std::string& token) EXCLUDES(mu_);

  static constexpr double kWindowSeconds = 300;
  static constexpr std::size_t kMaxTokens = 10000;  // beyond this the oldest are dropped

 private:
  Mutex mu_;
  std::map<std::string, std::pair<std::string, double>> tokens_ GUARDED_BY(mu_);
};

}  // namespace kiln::api
