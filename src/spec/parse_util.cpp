#include "spec/parse_util.h"

#include <algorithm>
#include <cctype>

#include "util/string.h"

namespace kiln::spec::detail {
namespace {

Diagnostic make(Diagnostic::Severity severity, const Mark& mark, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.mark = mark;
  d.message = std::move(message);
  return d;
}

// Edit distance, for "did you mean" hints: typos and the common `depends-on` slip.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                  std::tolower(static_cast<unsigned char>(b[j - 1]))
                              ? 0
                              : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view key, const std::vector<Field>& fields) {
  if (key.size() > 64) return "";  // not a typo; and keeps the distance computation cheap
  std::string_view best;
  size_t best_distance = 3;  // at most two edits
  for (const auto& f : fields) {
    const size_t d = distance(key, f.name);
    if (d < best_distance && d < f.name.size()) {
      best = f.name;
      best_distance = d;
    }
  }
  return std::string(best);
}

}  // namespace

void Context::error(const Mark& mark, std::string message) {
  diagnostics.push_back(make(Diagnostic::Severity::kError, mark, std::move(message)));
}

void Context::warning(const Mark& mark, std::string message) {
  diagnostics.push_back(make(Diagnostic::Severity::kWarning, mark, std::move(message)));
}

std::string describe(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kNull: return "an empty value";
    case Node::Kind::kScalar: return "a string";
    case Node::Kind::kSequence: return "a list";
    case Node::Kind::kMap: return "a mapping";
  }
  return "a value";
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '/';
  out += key;
  return out;
}

std::string item(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

bool has_value(const Node& map, std::string_view key) {
  for (const auto& entry : map.entries) {
    if (!entry.first->is_scalar() || entry.first->text != key) continue;
    const Node& v = *entry.second;
    return !v.is_null() && !(v.is_seq() && v.items.empty());
  }
  return false;
}

bool plausible_key(std::string_view key) {
  return !key.empty() && key.size() <= kMaxKeyNameLength &&
         std::all_of(key.begin(), key.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
                  c == '.';
         });
}

bool visit_map(Context& ctx, const Node& map, std::string_view path,
               const std::vector<Field>& fields) {
  if (map.is_null()) return true;
  if (!map.is_map()) {
    ctx.error(map.mark, "\"" + std::string(path) + "\" must be a mapping, found " + describe(map));
    return false;
  }
  const std::string where = path.empty() ? "" : " in \"" + std::string(path) + "\"";
  for (const auto& entry : map.entries) {
    const NodePtr& key = entry.first;
    const NodePtr& value = entry.second;
    if (!key->is_scalar() && !key->is_null()) {
      ctx.warning(key->mark, "a key that is not a string" + where + " (ignored)");
      continue;
    }
    auto f = std::find_if(fields.begin(), fields.end(),
                          [&](const Field& field) { return field.name == key->text; });
    if (f != fields.end()) {
      f->handle(*key, *value);
      continue;
    }
    // A key that could not be a buildspec key is not quoted: the "buildspec" may be some other
    // file (a path or symlink pointing at /etc/shadow), whose lines must not reach the log.
    const bool plausible = plausible_key(key->text);
    std::string message = "unknown " + std::string(path.empty() ? "top-level " : "") + "key " +
                          (plausible ? "\"" + key->text + "\"" : "that is not a key name") + where +
                          " (ignored";
    if (auto s = plausible ? suggestion(key->text, fields) : std::string(); !s.empty())
      message += "; did you mean \"" + s + "\"?";
    ctx.warning(key->mark, message + ")");
  }
  return true;
}

std::optional<std::string> read_string(Context& ctx, const Node& value, std::string_view path) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_scalar()) {
    ctx.error(value.mark,
              "\"" + std::string(path) + "\" must be a string, found " + describe(value));
    return std::nullopt;
  }
  return value.text;
}

std::optional<bool> read_bool(Context& ctx, const Node& value, std::string_view path) {
  if (value.is_null()) return std::nullopt;
  if (value.is_scalar()) {
    if (iequals(value.text, "yes") || iequals(value.text, "true")) return true;
    if (iequals(value.text, "no") || iequals(value.text, "false")) return false;
  }
  const std::string found = value.is_scalar() ? "\"" + value.text + "\"" : describe(value);
  ctx.error(value.mark,
            "\"" + std::string(path) + "\" must be yes, no, true or false, found " + found);
  return std::nullopt;
}

std::optional<int> read_int(Context& ctx, const Node& value, std::string_view path, int min,
                            int max) {
  if (value.is_null()) return std::nullopt;
  if (value.is_scalar() && !value.text.empty() && value.text.size() <= 9 &&
      std::all_of(value.text.begin(), value.text.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    const int n = std::stoi(value.text);  // at most 9 digits: cannot overflow or throw
    if (n >= min && n <= max) return n;
  }
  const std::string found = value.is_scalar() ? "\"" + value.text + "\"" : describe(value);
  ctx.error(value.mark, "\"" + std::string(path) + "\" must be a whole number from " +
                            std::to_string(min) + " to " + std::to_string(max) + ", found " +
                            found);
  return std::nullopt;
}

std::vector<std::string> read_string_list(Context& ctx, const Node& value, std::string_view path,
                                          ScalarList scalar) {
  std::vector<std::string> out;
  if (value.is_null()) return out;
  if (value.is_scalar() && scalar == ScalarList::kAccept) {
    out.push_back(value.text);
    return out;
  }
  if (!value.is_seq()) {
    ctx.error(value.mark,
              "\"" + std::string(path) + "\" must be a list of strings, found " + describe(value));
    return out;
  }
  for (size_t i = 0; i < value.items.size(); ++i) {
    const Node& entry = *value.items[i];
    if (entry.is_scalar()) {
      out.push_back(entry.text);
    } else if (entry.is_null()) {
      ctx.warning(entry.mark, "\"" + item(path, i) + "\" is empty (ignored)");
    } else {
      ctx.error(entry.mark, "\"" + item(path, i) + "\" must be a string, found " + describe(entry));
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> read_string_map(Context& ctx, const Node& value,
                                                                 std::string_view path) {
  std::vector<std::pair<std::string, std::string>> out;
  if (value.is_null()) return out;
  if (!value.is_map()) {
    ctx.error(value.mark, "\"" + std::string(path) +
                              "\" must be a mapping of names to strings, "
                              "found " +
                              describe(value));
    return out;
  }
  for (const auto& [k, v] : value.entries) {
    if (!k->is_scalar()) {
      ctx.error(k->mark, "\"" + std::string(path) + "\" has a name that is not a string");
      continue;
    }
    if (v->is_null()) {
      out.emplace_back(k->text, "");
    } else if (v->is_scalar()) {
      out.emplace_back(k->text, v->text);
    } else {
      ctx.error(v->mark, "\"" + join(path, k->text) + "\" must be a string, found " + describe(*v));
    }
  }
  return out;
}

}  // namespace kiln::spec::detail
