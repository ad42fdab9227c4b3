#include "exec/export_parse.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

namespace kiln::exec {
namespace {

TEST(ExportParse, DashFormatWithQuotesAndNewlines) {
  const std::string text =
      "export A='1'\nexport B='x=y'\nexport C='it'\"'\"'s'\nexport MULTI='line1\nline2'\n"
      "export EMPTY=''\nexport PWD='/x'\nexport UNSET_BUT_EXPORTED\n";
  EXPECT_EQ(
      parse_export_p(text),
      (EnvMap{{"A", "1"}, {"B", "x=y"}, {"C", "it's"}, {"MULTI", "line1\nline2"}, {"EMPTY", ""}}));
}

TEST(ExportParse, BashFormatWithEscapesAndAnsiC) {
  const std::string text =
      "declare -x A=\"it's\"\ndeclare -x B=\"a\\\"b\\$c\\`d\\\\e\"\n"
      "declare -x C=$'line1\\nline2\\ttab\\001\\x41\\E'\ndeclare -x OLDPWD\n"
      "declare -x SHLVL=\"1\"\ndeclare -x __kiln_rc=\"0\"\n";
  EXPECT_EQ(parse_export_p(text), (EnvMap{{"A", "it's"},
                                          {"B", "a\"b$c`d\\e"},
                                          {"C", std::string("line1\nline2\ttab\001A\x1b")}}));
}

TEST(ExportParse, UnclosedQuoteIsSkipped) {
  EXPECT_EQ(parse_export_p("export A='open\nexport B='ok'\n"), (EnvMap{}));
  EXPECT_EQ(parse_export_p("garbage line\nexport B='ok'\n"), (EnvMap{{"B", "ok"}}));
}

// Round trip through the real shells: what each prints for tricky values parses back exactly.
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

TEST(ExportParse, RoundTripsRealShells) {
  const std::string setup =
      "env -i V1=\"it's\" V2='a\"b$c`d\\e' V3=\"$(printf 'l1\\nl2\\tT\\001')\" V4= V5='  sp  ' ";
  const EnvMap want{
      {"V1", "it's"}, {"V2", "a\"b$c`d\\e"}, {"V3", "l1\nl2\tT\001"}, {"V4", ""}, {"V5", "  sp  "}};
  for (const char* shell : {"/bin/sh", "/bin/bash"}) {
    const EnvMap got = parse_export_p(run(setup + shell + " -c 'export -p'"));
    EXPECT_EQ(got, want) << shell;
  }
}

}  // namespace
}  // namespace kiln::exec
