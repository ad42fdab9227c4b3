// The Engine API's wire format, shared by the image and container halves of DockerClient and
// tested without a daemon: version strings, query strings, error answers, the JSON-lines stream
// of pull and import, and lenient field access (the daemon sends null for empty lists and maps,
// and nlohmann's value() would throw on that).
// Internal to src/docker/.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace kiln::docker::wire {

struct ApiVersion {
  int major = 0;
  int minor = 0;
  // Not a defaulted <=>: clang-tidy's modernize-use-nullptr misfires on one.
  bool operator<(const ApiVersion& o) const {
    return major != o.major ? major < o.major : minor < o.minor;
  }
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
};
// "1.41" -> {1, 41}; nullopt for anything else.
std::optional<ApiVersion> parse_api_version(std::string_view text);

// "?k=v&..." with keys and values percent-encoded; pairs with an empty value are left out.
std::string query(const std::vector<std::pair<std::string, std::string>>& params);
// An id, name or image reference as one path segment ("/" kept for image names).
std::string path_part(std::string_view text);

// The error for a non-success answer: "<status>: <daemon's message>", the message taken from
// the {"message": "..."} document (or the raw body when it is not one). 400 is kInvalidArgument,
// 401/403 kPermission, 404 kNotFound, 409 `conflict` (its meaning depends on the call), else kIo.
Error answer_error(long status, std::string_view body,
                   ErrorCode conflict = ErrorCode::kInvalidArgument);

// The body as JSON, or a kParse error quoting the start of it.
Result<nlohmann::json> parse_body(std::string_view body);

// Splits the JSON-lines answer of pull and import as it arrives in arbitrary chunks. Every
// non-empty line goes to `progress`; the first line carrying "error"/"errorDetail" is kept,
// since the daemon reports a failed pull that way inside a 200 answer.
class JsonLines {
 public:
  explicit JsonLines(std::function<void(std::string_view)> progress)
      : progress_(std::move(progress)) {}
  void feed(std::string_view chunk);
  void finish();  // the last line may lack its newline
  const std::optional<std::string>& error() const { return error_; }
  // The "status" of the last line that had one: an import's ends with the new image's id.
  const std::string& last_status() const { return last_status_; }

 private:
  void line(std::string_view text);

  std::function<void(std::string_view)> progress_;
  std::string partial_;
  std::optional<std::string> error_;
  std::string last_status_;
};

// Field access that treats a missing or mistyped field as empty.
std::string text(const nlohmann::json& j, const char* key);
std::int64_t number(const nlohmann::json& j, const char* key);
bool flag(const nlohmann::json& j, const char* key);
std::vector<std::string> strings(const nlohmann::json& j, const char* key);
std::map<std::string, std::string> string_map(const nlohmann::json& j, const char* key);
const nlohmann::json& object(const nlohmann::json& j, const char* key);  // a null json if absent

}  // namespace kiln::docker::wire
