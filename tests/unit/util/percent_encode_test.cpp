#include "util/percent_encode.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(PercentEncode, KeepsLettersDigitsAndTheGivenSet) {
  EXPECT_EQ(percent_encode("aZ09-_.~/", ""), "aZ09%2D%5F%2E%7E%2F");
  EXPECT_EQ(percent_encode("aZ09-_.~/", "-_.~"), "aZ09-_.~%2F");
  EXPECT_EQ(percent_encode("a b/c", "/"), "a%20b/c");
  EXPECT_EQ(percent_encode(std::string("\x00\xff", 2), ""), "%00%FF");  // upper-case hex
  EXPECT_EQ(percent_encode("", "-"), "");
}

}  // namespace
}  // namespace kiln
