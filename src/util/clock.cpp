#include "util/clock.h"

namespace kiln {

double to_epoch_seconds(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<microseconds>(t.time_since_epoch()).count()) / 1e6;
}

}  // namespace kiln
