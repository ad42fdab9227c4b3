#include "api/validate.h"

#include <algorithm>
#include <climits>

namespace kiln::api {

tl::unexpected<ApiError> constraint_error(const std::string& value, const std::string& path,
                                          const std::string& constraint) {
  std::string shown = value.size() > 64 ? value.substr(0, 64) + "..." : value;
  return invalid_input("1 validation error detected: Value '" + shown + "' at '" + path +
                       "' failed to satisfy constraint: " + constraint);
}

tl::unexpected<ApiError> response_too_large(std::string_view what) {
  return invalid_input("The response would be larger than Kiln's limit of " +
                       std::to_string(kMaxResponseBytes / (std::size_t{1024} * 1024)) +
                       " MiB: ask for fewer " + std::string(what) + " per call");
}

bool valid_project_name(std::string_view name) {
  auto ok = [](char c, bool first) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '-' || c == '_'));
  };
  if (name.size() < 2 || name.size() > 150) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

std::string Fields::path(std::string_view name) const {
  return where_.empty() ? std::string(name) : where_ + "." + std::string(name);
}

const json* Fields::member(std::string_view name) const {
  const auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

ApiResult<std::optional<std::string>> Fields::string(std::string_view name, bool required,
                                                     std::size_t min_len,
                                                     std::size_t max_len) const {
  const json* m = member(name);
  if (m == nullptr) {
    if (required) return invalid_input("Missing required parameter: " + path(name));
    return std::nullopt;
  }
  if (!m->is_string()) return invalid_input(path(name) + " must be a string");
  const auto& s = m->get_ref<const std::string&>();
  if (s.size() < min_len) {
    return constraint_error(
        s, path(name),
        "Member must have length greater than or equal to " + std::to_string(min_len));
  }
  if (s.size() > max_len) {
    return constraint_error(
        s, path(name), "Member must have length less than or equal to " + std::to_string(max_len));
  }
  return s;
}

ApiResult<std::optional<std::string>> Fields::one_of(
    std::string_view name, bool required, std::span<const std::string_view> values) const {
  auto s = string(name, required);
  if (!s || !*s) return s;
  for (const auto v : values) {
    if (**s == v) return s;
  }
  std::string set;
  for (const auto v : values) set += (set.empty() ? "" : ", ") + std::string(v);
  return constraint_error(**s, path(name), "Member must satisfy enum value set: [" + set + "]");
}

ApiResult<std::optional<long long>> Fields::integer(std::string_view name, bool required,
                                                    long long min, long long max) const {
  const json* m = member(name);
  if (m == nullptr) {
    if (required) return invalid_input("Missing required parameter: " + path(name));
    return std::nullopt;
  }
  if (!m->is_number_integer()) return invalid_input(path(name) + " must be an integer");
  // nlohmann keeps 2^63..2^64-1 as unsigned; reading those as long long would wrap negative.
  if (m->is_number_unsigned() && m->get<unsigned long long>() > LLONG_MAX) {
    return constraint_error(m->dump(), path(name),
                            "Member must have value less than or equal to " + std::to_string(max));
  }
  const long long v = m->get<long long>();
  if (v < min) {
    return constraint_error(
        std::to_string(v), path(name),
        "Member must have value greater than or equal to " + std::to_string(min));
  }
  if (v > max) {
    return constraint_error(std::to_string(v), path(name),
                            "Member must have value less than or equal to " + std::to_string(max));
  }
  return v;
}

ApiResult<std::optional<bool>> Fields::boolean(std::string_view name) const {
  const json* m = member(name);
  if (m == nullptr) return std::nullopt;
  if (!m->is_boolean()) return invalid_input(path(name) + " must be a boolean");
  return m->get<bool>();
}

ApiResult<const json*> Fields::object(std::string_view name, bool required) const {
  const json* m = member(name);
  if (m == nullptr) {
    if (required) return invalid_input("Missing required parameter: " + path(name));
    return nullptr;
  }
  if (!m->is_object()) return invalid_input(path(name) + " must be an object");
  return m;
}

ApiResult<const json*> Fields::list(std::string_view name, bool required,
                                    std::size_t max_items) const {
  const json* m = member(name);
  if (m == nullptr) {
    if (required) return invalid_input("Missing required parameter: " + path(name));
    return nullptr;
  }
  if (!m->is_array()) return invalid_input(path(name) + " must be a list");
  if (m->size() > max_items) {
    return constraint_error(
        "[" + std::to_string(m->size()) + " items]", path(name),
        "Member must have length less than or equal to " + std::to_string(max_items));
  }
  return m;
}

ApiResult<std::vector<std::string>> Fields::unique_strings(std::string_view name,
                                                           std::size_t max_items,
                                                           std::size_t max_len) const {
  auto items = list(name, true, max_items);
  if (!items) return tl::unexpected(items.error());
  if ((*items)->empty()) {
    return constraint_error("[]", path(name), "Member must have length greater than or equal to 1");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < (*items)->size(); ++i) {
    const json& item = (**items)[i];
    const std::string at = path(name) + "." + std::to_string(i + 1);
    if (!item.is_string()) return invalid_input(at + " must be a string");
    const auto& s = item.get_ref<const std::string&>();
    if (s.empty()) {
      return constraint_error(s, at, "Member must have length greater than or equal to 1");
    }
    if (s.size() > max_len) {
      return constraint_error(
          s, at, "Member must have length less than or equal to " + std::to_string(max_len));
    }
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

}  // namespace kiln::api
