// util/clock.h: the epoch conversions, each at the precision its callers store.
#include "util/clock.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

using std::chrono::microseconds;
using std::chrono::system_clock;

TEST(EpochTest, Precisions) {
  const system_clock::time_point t{microseconds(1700000000123456)};
  EXPECT_DOUBLE_EQ(to_epoch_seconds(t), 1700000000.123456);
  EXPECT_EQ(to_epoch_millis(t), 1700000000123);
  EXPECT_DOUBLE_EQ(to_epoch_seconds_ms(t), 1700000000.123);  // truncated, not rounded
  const system_clock::time_point before{microseconds(-1500)};
  EXPECT_EQ(to_epoch_millis(before), -1);  // towards zero, as duration_cast does
  EXPECT_EQ(to_epoch_millis(system_clock::time_point{}), 0);
}

TEST(EpochTest, FakeClockStartsAtWholeSeconds) {
  FakeClock clock;
  EXPECT_DOUBLE_EQ(to_epoch_seconds_ms(clock.now()), 1700000000.0);
  clock.advance(std::chrono::milliseconds(1234));
  EXPECT_EQ(to_epoch_millis(clock.now()), 1700000001234);
  EXPECT_DOUBLE_EQ(to_epoch_seconds_ms(clock.now()), 1700000001.234);
}

}  // namespace
}  // namespace kiln
