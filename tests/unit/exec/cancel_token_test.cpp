// CancelToken: the pipe a signal handler or another thread fires, and its failure as a Result.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "exec/executor.h"

namespace kiln::exec {
namespace {

TEST(CancelTokenTest, CancelMakesTheFdReadableForEveryPoller) {
  auto token = CancelToken::create();
  ASSERT_TRUE(token) << token.error().describe();
  EXPECT_FALSE(token->cancelled());
  std::thread other([&] { token->cancel(); });
  other.join();
  EXPECT_TRUE(token->cancelled());
  token->cancel();  // twice is fine, and it stays cancelled
  EXPECT_TRUE(token->cancelled());
}

TEST(CancelTokenTest, MovedTokenKeepsItsPipe) {
  auto token = CancelToken::create();
  ASSERT_TRUE(token);
  const int fd = token->fd();
  CancelToken moved = std::move(*token);
  EXPECT_EQ(moved.fd(), fd);
  moved.cancel();
  EXPECT_TRUE(moved.cancelled());
}

// In a child with no descriptor left: 0 if create() reports the Error naming the call.
void create_without_descriptors() {
  const rlimit only_stdio{3, 3};
  if (::setrlimit(RLIMIT_NOFILE, &only_stdio) != 0) std::_Exit(3);
  auto token = CancelToken::create();
  if (token) std::_Exit(1);
  const bool named = token.error().code() == ErrorCode::kProcess &&
                     token.error().message().starts_with("pipe2 for a cancel token: ");
  std::_Exit(named ? 0 : 2);
}

// Out of descriptors is an Error, not an exception (ARCHITECTURE.md "Errors").
TEST(CancelTokenTest, OutOfDescriptorsIsAnError) {
  EXPECT_EXIT(create_without_descriptors(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace kiln::exec
