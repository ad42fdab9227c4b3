#include "exec/shell_script.h"

#include <gtest/gtest.h>

namespace kiln::exec {
namespace {

TEST(ShellScript, QuotesAnyText) {
  EXPECT_EQ(shell_quote("plain"), "'plain'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("$HOME `x` \"q\""), "'$HOME `x` \"q\"'");
}

TEST(ShellScript, CommandStartsOnLineFour) {
  const auto files = ScriptFiles::in("/s");
  const std::string script = make_script("echo hi", "/w d", files);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = script.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(script.substr(start, nl - start));
  }
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "set -a");
  EXPECT_EQ(lines[1], "cd -- '/w d' || exit 1");
  EXPECT_TRUE(lines[2].starts_with("trap '__kiln_rc=$?; ")) << lines[2];
  EXPECT_TRUE(lines[2].ends_with(" EXIT")) << lines[2];
  EXPECT_EQ(lines[3], "echo hi");
}

TEST(ShellScript, KeepsCommandTextVerbatim) {
  const auto files = ScriptFiles::in("/s");
  const std::string cmd = "cat <<'EOF'\n$x\nEOF\n";
  const std::string script = make_script(cmd, "/w", files);
  EXPECT_TRUE(script.ends_with(cmd));
}

TEST(ShellScript, ResolvesSupportedShells) {
  EXPECT_EQ(resolve_shell("sh").value(), "/bin/sh");
  EXPECT_EQ(resolve_shell("/bin/sh").value(), "/bin/sh");
  EXPECT_EQ(resolve_shell("").value(), "/bin/sh");
  auto bash = resolve_shell("bash");
  ASSERT_TRUE(bash);
  EXPECT_TRUE(bash->ends_with("/bash"));
  auto bad = resolve_shell("powershell.exe");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(ShellScript, ParsesTheCapturedState) {
  using namespace std::string_literals;
  const auto state = parse_captured_state("export A='1'\nexport B='x y'\n\0/w d\n\0"s);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->cwd, "/w d");
  EXPECT_EQ(state->env, (EnvMap{{"A", "1"}, {"B", "x y"}}));
}

TEST(ShellScript, IncompleteStateMeansNoState) {
  using namespace std::string_literals;
  EXPECT_FALSE(parse_captured_state("").has_value());
  EXPECT_FALSE(parse_captured_state("export A='1'\n\0"s).has_value());      // pwd not sent
  EXPECT_FALSE(parse_captured_state("export A='1'\n\0\0"s).has_value());    // pwd failed
  EXPECT_FALSE(parse_captured_state("export A='1'\n\0/w\0"s).has_value());  // cut short
  EXPECT_FALSE(parse_captured_state("\0relative\n\0"s).has_value());
}

}  // namespace
}  // namespace kiln::exec
