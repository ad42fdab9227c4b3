// Small helpers every part of the scheduler shares (scheduler.cpp, batch_coordinator.cpp,
// batch_control.cpp). Internal to server/.
#pragma once

#include <cstdio>
#include <string>

namespace kiln::server {

// The uuid part of a build or batch id ("<project>:<uuid>"), which names its folders.
inline std::string uuid_of(const std::string& id) {
  const auto colon = id.find(':');
  return colon == std::string::npos ? id : id.substr(colon + 1);
}

// The server's log: stderr, one line per event, as the rest of `kiln server` writes it.
inline void log(const std::string& message) {
  std::fprintf(stderr, "kiln server: %s\n", message.c_str());
}

}  // namespace kiln::server
