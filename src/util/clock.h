// Time, behind an interface so the engine's timing (phase durations, timeouts) is testable.
// Thread safety: SystemClock is stateless; FakeClock is not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace kiln {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for records and log timestamps.
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time, for durations and deadlines.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

// Starts at a fixed instant and moves only when advance() is called.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t epoch_seconds = 1700000000)
      : wall_(std::chrono::seconds(epoch_seconds)) {}
  std::chrono::system_clock::time_point now() const override { return wall_; }
  std::chrono::steady_clock::time_point steady_now() const override { return steady_; }
  void advance(std::chrono::milliseconds d) {
    wall_ += d;
    steady_ += d;
  }

 private:
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point steady_{};
};

// Seconds since the epoch with a fractional part, as CodeBuild's JSON timestamps are: to the
// microsecond (the engine's build records).
double to_epoch_seconds(std::chrono::system_clock::time_point t);

// Whole milliseconds since the epoch (the secret store's times).
std::int64_t to_epoch_millis(std::chrono::system_clock::time_point t);

// Seconds since the epoch to the millisecond, to_epoch_millis(t) / 1000: the times the API
// service and the scheduler write into the store.
double to_epoch_seconds_ms(std::chrono::system_clock::time_point t);

}  // namespace kiln
