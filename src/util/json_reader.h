// Reads members of untrusted JSON (stored records, requests handed between processes) into
// typed fields without exceptions. The first member that is missing (when required) or of the
// wrong type fails the reader, named by its path ("buildGroups[2].identifier: expected a
// string"); once failed, later reads do nothing, so a caller reads everything and checks ok()
// once. Absent and null members leave the field as it was.
//
// Thread safety: one reader per thread.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln {

class JsonReader {
 public:
  using json = nlohmann::json;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void fail_at(const std::string& path, const std::string& what) {
    if (ok()) error_ = path + ": " + what;
  }

  static std::string member(const std::string& at, const std::string& key) {
    return at.empty() ? key : at + "." + key;
  }
  static std::string element(const std::string& at, std::size_t i) {
    return at + "[" + std::to_string(i) + "]";
  }

  // obj[key], or null when absent, null, or (after failing) of the wrong JSON type. Any JSON
  // number satisfies number_float.
  const json* get(const json& obj, const std::string& at, const char* key, json::value_t type,
                  const char* what, bool required = false) {
    if (!ok() || !obj.is_object()) return nullptr;
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) fail_at(member(at, key), "missing");
      return nullptr;
    }
    const bool number_ok = type == json::value_t::number_float && it->is_number();
    if (it->type() != type && !number_ok) {
      fail_at(member(at, key), what);
      return nullptr;
    }
    return &*it;
  }
  const json* object(const json& obj, const std::string& at, const char* key,
                     bool required = false) {
    return get(obj, at, key, json::value_t::object, "expected an object", required);
  }
  const json* array(const json& obj, const std::string& at, const char* key,
                    bool required = false) {
    return get(obj, at, key, json::value_t::array, "expected an array", required);
  }

  void string(const json& obj, const std::string& at, const char* key, std::string& out,
              bool required = false) {
    if (const json* v = get(obj, at, key, json::value_t::string, "expected a string", required))
      out = v->get<std::string>();
  }
  void boolean(const json& obj, const std::string& at, const char* key, bool& out,
               bool required = false) {
    if (const json* v = get(obj, at, key, json::value_t::boolean, "expected a boolean", required))
      out = v->get<bool>();
  }
  // A finite number (times; integers of any JSON number kind).
  std::optional<double> number(const json& obj, const std::string& at, const char* key,
                               bool required = false) {
    const json* v = get(obj, at, key, json::value_t::number_float, "expected a number", required);
    if (v == nullptr) return std::nullopt;
    const double d = v->get<double>();
    if (!std::isfinite(d)) {
      fail_at(member(at, key), "expected a number");
      return std::nullopt;
    }
    return d;
  }
  // A whole number T can hold exactly.
  template <typename T>
  void integer(const json& obj, const std::string& at, const char* key, T& out,
               bool required = false) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    const json* v = get(obj, at, key, json::value_t::number_float, "expected a number", required);
    if (v == nullptr) return;
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        return fail_at(member(at, key), "expected a whole number in range");
      out = static_cast<T>(u);
      return;
    }
    if (v->is_number_integer()) {
      const auto i = v->get<std::int64_t>();
      if (std::is_unsigned_v<T> && i < 0)
        return fail_at(member(at, key), "expected a whole number in range");
      if constexpr (std::is_signed_v<T>) {
        if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
            i > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
          return fail_at(member(at, key), "expected a whole number in range");
      } else if (static_cast<std::uint64_t>(i) > std::numeric_limits<T>::max()) {
        return fail_at(member(at, key), "expected a whole number in range");
      }
      out = static_cast<T>(i);
      return;
    }
    const double d = v->get<double>();
    // [-2^digits, 2^digits): exact bounds (T's max itself may round up to 2^digits as a double).
    const double bound = std::ldexp(1.0, std::numeric_limits<T>::digits);
    const double low = std::is_signed_v<T> ? -bound : 0.0;
    if (!std::isfinite(d) || d != std::floor(d) || d < low || d >= bound)
      return fail_at(member(at, key), "expected a whole number in range");
    out = static_cast<T>(d);
  }
  void strings(const json& obj, const std::string& at, const char* key,
               std::vector<std::string>& out, bool required = false) {
    const json* v =
        get(obj, at, key, json::value_t::array, "expected an array of strings", required);
    if (v == nullptr) return;
    std::vector<std::string> items;
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) return fail_at(element(member(at, key), i), "expected a string");
      items.push_back((*v)[i].get<std::string>());
    }
    out = std::move(items);
  }
  void string_map(const json& obj, const std::string& at, const char* key,
                  std::map<std::string, std::string>& out) {
    const json* v = get(obj, at, key, json::value_t::object, "expected an object of strings");
    if (v == nullptr) return;
    std::map<std::string, std::string> items;
    for (const auto& [k, item] : v->items()) {
      if (!item.is_string()) return fail_at(member(member(at, key), k), "expected a string");
      items.emplace(k, item.get<std::string>());
    }
    out = std::move(items);
  }
  // Each object of the array obj[key], with its path.
  template <typename Fn>
  void each_object(const json& obj, const std::string& at, const char* key, Fn&& fn,
                   bool required = false) {
    const json* list = array(obj, at, key, required);
    if (list == nullptr) return;
    const std::string path = member(at, key);
    for (std::size_t i = 0; i < list->size() && ok(); ++i) {
      const std::string item = element(path, i);
      if (!(*list)[i].is_object()) return fail_at(item, "expected an object");
      fn((*list)[i], item);
    }
  }

  // One name for every field type, for readers of many members.
  void read(const json& obj, const std::string& at, const char* key, std::string& out,
            bool required = false) {
    string(obj, at, key, out, required);
  }
  void read(const json& obj, const std::string& at, const char* key, bool& out,
            bool required = false) {
    boolean(obj, at, key, out, required);
  }
  void read(const json& obj, const std::string& at, const char* key,
            std::optional<std::string>& out) {
    std::string s;
    if (get(obj, at, key, json::value_t::string, "expected a string") == nullptr) return;
    string(obj, at, key, s);
    out = std::move(s);
  }
  void read(const json& obj, const std::string& at, const char* key, std::optional<bool>& out) {
    bool b = false;
    if (get(obj, at, key, json::value_t::boolean, "expected a boolean") == nullptr) return;
    boolean(obj, at, key, b);
    out = b;
  }
  void read(const json& obj, const std::string& at, const char* key, std::vector<std::string>& out,
            bool required = false) {
    strings(obj, at, key, out, required);
  }
  void read(const json& obj, const std::string& at, const char* key,
            std::map<std::string, std::string>& out) {
    string_map(obj, at, key, out);
  }
  template <typename T>
  requires(std::is_arithmetic_v<T> &&
           !std::is_same_v<T, bool>) void read(const json& obj, const std::string& at,
                                               const char* key, T& out, bool required = false) {
    if constexpr (std::is_integral_v<T>) {
      integer(obj, at, key, out, required);
    } else if (auto d = number(obj, at, key, required)) {
      out = static_cast<T>(*d);
    }
  }

 private:
  std::string error_;
};

}  // namespace kiln
