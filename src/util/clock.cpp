#include "util/clock.h"

namespace kiln {

double to_epoch_seconds(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<microseconds>(t.time_since_epoch()).count()) / 1e6;
}

std::int64_t to_epoch_millis(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

double to_epoch_seconds_ms(std::chrono::system_clock::time_point t) {
  return static_cast<double>(to_epoch_millis(t)) / 1000.0;
}

}  // namespace kiln
