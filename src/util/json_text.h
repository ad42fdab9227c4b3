// JSON to text without throwing. nlohmann's dump() throws on strings that are not valid UTF-8,
// and a build's output, its variables and request headers may be anything. Invalid bytes become
// U+FFFD instead, as a log viewer would show them.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace kiln {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace kiln
