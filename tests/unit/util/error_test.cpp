#include "util/error.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(Error, DescribeListsContextOutermostFirst) {
  Error e(ErrorCode::kIo, "open /x: No such file or directory");
  e.with("while copying the source").with("while preparing the workspace");
  EXPECT_EQ(e.describe(),
            "while preparing the workspace: while copying the source: open /x: No such file or "
            "directory");
}

TEST(Error, ResultCarriesError) {
  auto f = []() -> Result<int> { return fail(ErrorCode::kNotFound, "no such thing"); };
  auto r = f();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kiln
