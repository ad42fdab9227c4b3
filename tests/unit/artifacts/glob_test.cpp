#include "artifacts/glob.h"

#include <gtest/gtest.h>

namespace kiln::artifacts {
namespace {

Glob compile(const std::string& p, bool subtree = false) {
  Glob::Options o;
  o.literal_selects_subtree = subtree;
  auto g = Glob::compile(p, o);
  EXPECT_TRUE(g) << p << ": " << g.error().message();
  return std::move(*g);
}

bool m(const std::string& pattern, const std::string& path) {
  return compile(pattern).match(path);
}

TEST(MatchComponent, StarQuestionAndLiterals) {
  EXPECT_TRUE(match_component("*.txt", "a.txt"));
  EXPECT_TRUE(match_component("*.txt", ".txt"));
  EXPECT_FALSE(match_component("*.txt", "a.txt.bak"));
  EXPECT_TRUE(match_component("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(match_component("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(match_component("?.txt", "a.txt"));
  EXPECT_FALSE(match_component("?.txt", "ab.txt"));
  EXPECT_TRUE(match_component("", ""));
  EXPECT_FALSE(match_component("", "a"));
}

TEST(MatchComponent, QuestionMarkMatchesOneCodePoint) {
  EXPECT_TRUE(match_component("?.txt", "\xC3\xA9.txt"));  // é
  EXPECT_TRUE(match_component("a?c",
                              "a\xE2\x82\xAC"
                              "c"));  // €
  EXPECT_FALSE(match_component("??.txt", "\xC3\xA9.txt"));
}

TEST(MatchComponent, CharacterClasses) {
  EXPECT_TRUE(match_component("[abc].txt", "b.txt"));
  EXPECT_FALSE(match_component("[abc].txt", "d.txt"));
  EXPECT_TRUE(match_component("[a-c]x", "cx"));
  EXPECT_FALSE(match_component("[a-c]x", "dx"));
  EXPECT_TRUE(match_component("[!a]x", "bx"));
  EXPECT_FALSE(match_component("[!a]x", "ax"));
  EXPECT_TRUE(match_component("[^a]x", "bx"));
  EXPECT_TRUE(match_component("[]]", "]"));
  EXPECT_TRUE(match_component("[!]]", "a"));
  EXPECT_TRUE(match_component("[a-]", "-"));
  EXPECT_TRUE(match_component("[\xC3\xA9]", "\xC3\xA9"));
  EXPECT_TRUE(match_component("[\\]]", "]"));
}

TEST(MatchComponent, EscapesAndMalformed) {
  EXPECT_TRUE(match_component("\\*.txt", "*.txt"));
  EXPECT_FALSE(match_component("\\*.txt", "a.txt"));
  EXPECT_TRUE(match_component("a\\?", "a?"));
  EXPECT_FALSE(match_component("[abc", "a"));
  EXPECT_FALSE(match_component("abc\\", "abc"));
}

TEST(Glob, StarDoesNotCrossDirectories) {
  EXPECT_TRUE(m("*.txt", "a.txt"));
  EXPECT_FALSE(m("*.txt", "d/a.txt"));
  EXPECT_TRUE(m("*/my-file-3.txt", "my-subdirectory/my-file-3.txt"));
  EXPECT_FALSE(m("*/my-file-3.txt", "a/my-subdirectory/my-file-3.txt"));
  EXPECT_FALSE(m("*/my-file-3.txt", "my-file-3.txt"));
}

TEST(Glob, StarMatchesHiddenNames) {
  EXPECT_TRUE(m("*", ".env"));
  EXPECT_TRUE(m("**/*", ".git/config"));
  EXPECT_TRUE(m("d/*", "d/.hidden"));
}

TEST(Glob, GlobstarMatchesZeroOrMoreDirectories) {
  EXPECT_TRUE(m("a/**/b", "a/b"));
  EXPECT_TRUE(m("a/**/b", "a/x/b"));
  EXPECT_TRUE(m("a/**/b", "a/x/y/z/b"));
  EXPECT_FALSE(m("a/**/b", "a/bb"));
  EXPECT_FALSE(m("a/**/b", "x/a/b"));
  EXPECT_TRUE(m("**/*", "f"));
  EXPECT_TRUE(m("**/*", "a/b/c/f"));
  EXPECT_TRUE(m("**", "a/b"));
  EXPECT_TRUE(m("a/**", "a/b/c"));
  EXPECT_TRUE(m("a/**", "a"));
  EXPECT_TRUE(m("**/**/x", "x"));
  EXPECT_TRUE(m("**/b/**/d", "a/b/c/d"));
  EXPECT_TRUE(m("**/b/**/d", "b/d"));
  EXPECT_FALSE(m("**/b/**/d", "a/c/d"));
}

TEST(Glob, DoubleStarInsideAComponentIsAStar) {
  EXPECT_TRUE(m("a**b", "aXYb"));
  EXPECT_FALSE(m("a**b", "aX/Yb"));
  EXPECT_TRUE(m("x/**.txt", "x/a.txt"));
  EXPECT_FALSE(m("x/**.txt", "x/y/a.txt"));
}

TEST(Glob, SubdirectoryForms) {
  EXPECT_TRUE(m("my-subdirectory/*", "my-subdirectory/f"));
  EXPECT_FALSE(m("my-subdirectory/*", "my-subdirectory/sub/f"));
  EXPECT_TRUE(m("my-subdirectory/**/*", "my-subdirectory/f"));
  EXPECT_TRUE(m("my-subdirectory/**/*", "my-subdirectory/sub/f"));
  EXPECT_FALSE(m("my-subdirectory/**/*", "other/f"));
  EXPECT_TRUE(m("a/b/my-file.jar", "a/b/my-file.jar"));
  EXPECT_FALSE(m("a/b/my-file.jar", "a/b/my-file.jar2"));
}

TEST(Glob, ExcludeExamplesFromTheReference) {
  EXPECT_TRUE(m("**/file-name/**/*", "file-name/x"));
  EXPECT_TRUE(m("**/file-name/**/*", "a/b/file-name/c/x"));
  EXPECT_FALSE(m("**/file-name/**/*", "a/file-name"));
  EXPECT_TRUE(m("**/.*/**/*", ".git/config"));
  EXPECT_TRUE(m("**/.*/**/*", "a/.cache/x/y"));
  EXPECT_FALSE(m("**/.*/**/*", "a/b/c"));
  EXPECT_TRUE(m("**/.*", ".env"));
  EXPECT_TRUE(m("**/.*", "a/b/.env"));
  EXPECT_FALSE(m("**/.*", "a/b/env"));
}

TEST(Glob, NormalisesDotSlashEmptyAndTrailingComponents) {
  EXPECT_TRUE(m("./a/*.txt", "a/x.txt"));
  EXPECT_TRUE(m("././a//b/", "a/b"));
  EXPECT_TRUE(m("a/./b", "a/b"));
  EXPECT_EQ(compile("./a//b/").normalized(), "a/b");
  EXPECT_EQ(compile("./a//b/").text(), "./a//b/");
}

TEST(Glob, IsCaseSensitive) {
  EXPECT_FALSE(m("*.TXT", "a.txt"));
  EXPECT_FALSE(m("Dist/*", "dist/a"));
}

TEST(Glob, LiteralSelectsSubtreeOnlyWhenAsked) {
  EXPECT_FALSE(compile("dist").match("dist/a/b"));
  EXPECT_TRUE(compile("dist", true).match("dist"));
  EXPECT_TRUE(compile("dist", true).match("dist/a/b"));
  EXPECT_FALSE(compile("dist", true).match("distx/a"));
  EXPECT_FALSE(compile("dist/*", true).match("dist/a/b"));  // wildcards: no implicit subtree
  EXPECT_TRUE(compile(".", true).match("anything/at/all"));
  EXPECT_FALSE(compile("dist").has_wildcard());
  EXPECT_TRUE(compile("d?st").has_wildcard());
  EXPECT_FALSE(compile("a\\*b").has_wildcard());
  EXPECT_TRUE(compile("a\\*b").match("a*b"));
}

TEST(Glob, RejectsAbsoluteAndParentPaths) {
  auto abs = Glob::compile("/etc/passwd");
  ASSERT_FALSE(abs);
  EXPECT_EQ(abs.error().code(), ErrorCode::kPathEscape);
  EXPECT_EQ(abs.error().message(), "absolute path not allowed: /etc/passwd");
  auto up = Glob::compile("../x");
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code(), ErrorCode::kPathEscape);
  EXPECT_EQ(up.error().message(), "'..' is not allowed in artifact paths: ../x");
  EXPECT_FALSE(Glob::compile("a/../../x"));
  EXPECT_FALSE(Glob::compile("**/.."));
}

TEST(Glob, RejectsMalformedPatterns) {
  for (const char* p : {"", "[abc", "a/[!", "x\\", "[]"}) {
    auto g = Glob::compile(p);
    ASSERT_FALSE(g) << p;
    EXPECT_EQ(g.error().code(), ErrorCode::kInvalidArgument) << p;
  }
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += "d/";
  EXPECT_FALSE(Glob::compile(deep + "f"));
  EXPECT_TRUE(Glob::compile(deep.substr(0, 120) + "f"));
}

TEST(Glob, StatesPruneWhatCannotMatch) {
  Glob g = compile("my-subdirectory/*");
  auto s = g.step(g.start(), "other");
  EXPECT_EQ(s, 0U);
  s = g.step(g.start(), "my-subdirectory");
  EXPECT_TRUE(g.may_match_below(s));
  EXPECT_FALSE(g.accepts(s));
  auto file = g.step(s, "f");
  EXPECT_TRUE(g.accepts(file));
  EXPECT_FALSE(g.may_match_below(file));  // `*` does not descend
}

TEST(Glob, MatchesAllBelowDetectsWholeSubtrees) {
  Glob nm = compile("node_modules", true);
  EXPECT_TRUE(nm.matches_all_below(nm.step(nm.start(), "node_modules")));
  Glob dots = compile("**/.*/**/*");
  EXPECT_TRUE(dots.matches_all_below(dots.step(dots.start(), ".git")));
  EXPECT_FALSE(dots.matches_all_below(dots.step(dots.start(), "src")));
  Glob all = compile("**/*");
  EXPECT_TRUE(all.matches_all_below(all.start()));
  Glob txt = compile("**/*.txt");
  EXPECT_FALSE(txt.matches_all_below(txt.start()));
  Glob two = compile("a/*/*/**");
  EXPECT_FALSE(two.matches_all_below(two.step(two.start(), "a")));  // needs two levels
}

}  // namespace
}  // namespace kiln::artifacts
