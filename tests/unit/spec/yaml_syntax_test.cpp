// Malformed YAML: go-yaml's wording, positions, CodeBuild's "at line N", and no crashes.
#include <gtest/gtest.h>

#include "spec/parser.h"

namespace kiln::spec {
namespace {

ParseOutcome parse(const std::string& text) {
  return parse_buildspec(text, "buildspec.yml");
}

std::string lint(const std::string& text) {
  std::string out;
  for (const auto& d : parse(text).diagnostics) out += format_diagnostic("buildspec.yml", text, d);
  return out;
}

// The only error, as CodeBuild would show it in the YAML_FILE_ERROR context.
std::string context(const std::string& text) {
  auto out = parse(text);
  EXPECT_FALSE(out.spec);
  EXPECT_EQ(out.diagnostics.size(), 1u) << lint(text);
  return out.diagnostics.empty() ? "" : phase_context_message(out.diagnostics[0]);
}

// §1.9 / awsdocs/aws-codebuild-user-guide#25: a tab on line 3.
TEST(YamlSyntax, TabIndentation) {
  const std::string text = "version: 0.2\nphases:\n\tbuild:\n    commands:\n      - make\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:3:1: error: found character that cannot start any token\n"
            "\tbuild:\n"
            "^\n");
  EXPECT_EQ(context(text), "found character that cannot start any token at line 3");
}

TEST(YamlSyntax, TabBeforeAListItem) {
  EXPECT_EQ(context("version: 0.2\nphases:\n  build:\n    commands:\n\t- make\n"),
            "found character that cannot start any token at line 5");
}

TEST(YamlSyntax, TabsInsideValuesAreFine) {
  auto out = parse(
      "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n"
      "        printf 'a\\tb'\n        \tindented\n      - \"x\ty\"\n");
  ASSERT_TRUE(out.spec) << lint("");
  EXPECT_EQ(out.spec->phases.at(PhaseName::kBuild).commands[0].text,
            "printf 'a\\tb'\n\tindented\n");
}

// go-yaml reports parser errors with the 0-based line of the token it stopped at.
TEST(YamlSyntax, UnclosedFlowSequence) {
  const std::string text =
      "version: 0.2\nphases:\n  build:\n    commands: [a, b\n"
      "  post_build:\n    commands: [c]\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:5:13: error: did not find expected ',' or ']'\n"
            "  post_build:\n"
            "            ^\n");
  EXPECT_EQ(context(text), "did not find expected ',' or ']' at line 4");
}

TEST(YamlSyntax, UnclosedFlowMapping) {
  EXPECT_EQ(context("version: 0.2\nphases: {build: {commands: [a]}\n"),
            "did not find expected ',' or '}' at line 2");
}

// go-yaml gives no line for an error on the first line; CodeBuild prints 0 (§1.9).
TEST(YamlSyntax, MappingValuesOnTheFirstLine) {
  EXPECT_EQ(context("version: 0.2 phases: x\n"),
            "mapping values are not allowed in this context at line 0");
}

TEST(YamlSyntax, MappingValuesLater) {
  const std::string text = "version: 0.2\nphases:\n  build:\n    commands: x\n      foo: bar\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:5:10: error: mapping values are not allowed in this context\n"
            "      foo: bar\n"
            "         ^\n");
  EXPECT_EQ(context(text), "mapping values are not allowed in this context at line 5");
}

TEST(YamlSyntax, BadIndentation) {
  EXPECT_EQ(context("version: 0.2\nphases:\n  build:\n   commands:\n    - a\n  - b\n"),
            "did not find expected key at line 5");
}

TEST(YamlSyntax, CharacterThatCannotStartAToken) {
  EXPECT_EQ(context("version: 0.2\nphases:\n  build:\n    commands:\n      - @foo\n"),
            "found character that cannot start any token at line 5");
}

TEST(YamlSyntax, UnknownEscape) {
  EXPECT_EQ(context("version: 0.2\nphases:\n  build:\n    commands:\n      - \"a \\q\"\n"),
            "found unknown escape character at line 5");
}

// yaml-cpp accepts this; go-yaml does not, and neither do we.
TEST(YamlSyntax, UnterminatedQuoteAtTheEnd) {
  const std::string text = "version: 0.2\nphases:\n  build:\n    commands:\n      - \"echo hi\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:5:9: error: found unexpected end of stream\n"
            "      - \"echo hi\n"
            "        ^\n");
  EXPECT_EQ(context(text), "found unexpected end of stream at line 6");
  EXPECT_EQ(context("version: '0.2\n"), "found unexpected end of stream at line 2");
}

TEST(YamlSyntax, QuotesThatAreClosedAreFine) {
  auto out = parse(
      "version: 0.2\nphases:\n  build:\n    commands:\n      - 'it''s'\n"
      "      - \"say \\\"hi\\\"\"\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->phases.at(PhaseName::kBuild).commands[1].text, "say \"hi\"");
}

// yaml-cpp stops after the root list and silently drops the rest; go-yaml fails.
TEST(YamlSyntax, ContentAfterTheRootIsAnError) {
  EXPECT_EQ(lint("- a\nversion: 0.2\n"),
            "buildspec.yml:2:1: error: did not find expected '-' indicator\n"
            "version: 0.2\n"
            "^\n");
}

TEST(YamlSyntax, UndefinedAlias) {
  const std::string text = "version: 0.2\nphases:\n  build:\n    commands: *cmds\n";
  EXPECT_EQ(context(text), "unknown anchor 'cmds' referenced");
  EXPECT_EQ(parse(text).diagnostics[0].mark.line, 4);
}

TEST(YamlSyntax, AliasInsideItsOwnAnchor) {
  EXPECT_EQ(context("version: 0.2\nphases: &p\n  build: *p\n"), "anchor 'p' value contains itself");
}

TEST(YamlSyntax, MergeNeedsAMapping) {
  EXPECT_EQ(context("version: 0.2\nx: &x [a]\nphases:\n  build:\n    <<: *x\n"),
            "map merge requires map or sequence of maps as the value");
}

TEST(YamlSyntax, UnsupportedYamlVersion) {
  EXPECT_EQ(context("%YAML 2.0\n---\nversion: 0.2\n"),
            "found incompatible YAML document at line 0");
}

TEST(YamlSyntax, ByteOrderMarkAndCrLf) {
  auto out = parse(
      "\xEF\xBB\xBFversion: 0.2\r\nphases:\r\n  build:\r\n    commands:\r\n"
      "      - make\r\n");
  ASSERT_TRUE(out.spec) << lint("");
  EXPECT_EQ(out.spec->phases.at(PhaseName::kBuild).commands[0].text, "make");
}

TEST(YamlSyntax, ByteOrderMarkDoesNotShiftPositions) {
  const std::string text =
      "\xEF\xBB\xBFversion: 1.0\nphases:\n  build:\n    commands:\n      - \"echo hi\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:5:9: error: found unexpected end of stream\n"
            "      - \"echo hi\n"
            "        ^\n");
  EXPECT_EQ(lint("\xEF\xBB\xBFversion: 1.0\nphases:\n  build:\n    commands: [a]\n"),
            "buildspec.yml:1:10: error: invalid buildspec `version` specified: 1.0, see "
            "documentation\n"
            "version: 1.0\n"
            "         ^\n");
}

TEST(YamlSyntax, DeepNestingDoesNotCrash) {
  for (const std::string open : {"[", "{a: ", "- "}) {
    std::string text = "version: 0.2\nphases:\n  ";
    for (int i = 0; i < 20000; ++i) text += open;
    auto out = parse(text);
    EXPECT_FALSE(out.spec);
    ASSERT_EQ(out.diagnostics.size(), 1u);
    EXPECT_EQ(out.diagnostics[0].message, "the YAML is nested too deeply");
  }
}

TEST(YamlSyntax, ManyAliasesStayCheap) {
  // A "billion laughs" tree: shared nodes, never expanded into copies.
  std::string text = "version: 0.2\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 30; ++i)
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) +
            ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  text += "phases:\n  build:\n    commands: *a29\n";
  auto out = parse(text);
  EXPECT_FALSE(out.spec);  // the commands are lists, not strings
}

TEST(YamlSyntax, MalformedInputsNeverThrow) {
  const std::string inputs[] = {
      std::string("\0\0\0", 3),
      "\xff\xfe\x00v",
      "version: 0.2\nphases:\n  build:\n    commands:\n      - \"\\x4",
      "{{{{",
      "]]]]",
      "- - - - -",
      "? ? ? ?",
      "&a &b x",
      "!!binary x: y",
      "version: !<tag:yaml.org,2002:str 0.2",
      "version: |0\n  x\n",
      "version: 0.2\nphases: >\n bad\n  indent\n",
      "'",
      "\"",
      "---\n...\n---\n...",
      "%TAG ! !foo\n%TAG ! !foo\n--- x",
      "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-((((((((((((((((((((((((((((((\n",
      "*",
      "&",
      "key: \"\\uZZZZ\"",
      "a:\n- b\n -c\n",
  };
  for (const auto& text : inputs) {
    ParseOutcome out;
    EXPECT_NO_THROW(out = parse(text)) << text;
    EXPECT_EQ(out.spec.has_value(), !has_errors(out.diagnostics));
    for (const auto& d : out.diagnostics) EXPECT_NO_THROW(format_diagnostic("b.yml", text, d));
  }
}

// A key of a block mapping whose line has no ':' (yaml_errors.h, multiline_key): libyaml, and so
// CodeBuild's go-yaml, stops there with "could not find expected ':'"; yaml-cpp reads on. Every
// expected position below is what libyaml reports for the same text (PyYAML's CSafeLoader:
// "while scanning a simple key in line K ... could not find expected ':' in line N").

// tests/corpus/buildspecs/054 in small: yaml-cpp took `<<<<<<< HEAD - a` as a key and failed at
// `>>>>>>>` (a block scalar indicator), three lines later, with "did not find expected comment or
// line break".
TEST(YamlKeys, MergeConflictStopsAtTheMarker) {
  const std::string text =
      "version: 0.2\nphases:\n  build:\n    commands:\n<<<<<<< HEAD\n      - a\n=======\n"
      "      - b\n>>>>>>> abc\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:5:1: error: could not find expected ':'\n"
            "<<<<<<< HEAD\n"
            "^\n");
  EXPECT_EQ(context(text), "could not find expected ':' at line 7");
}

// yaml-cpp accepts this one: the key `<<<<<<< HEAD - a` runs to the end of the file.
TEST(YamlKeys, KeyRunningToTheEndOfTheFile) {
  EXPECT_EQ(context("version: 0.2\nphases:\n  build:\n    commands:\n<<<<<<< HEAD\n      - a\n"),
            "could not find expected ':' at line 7");
}

TEST(YamlKeys, WordOnItsOwnLine) {
  const std::string text = "version: 0.2\nfoo\nphases:\n  build:\n    commands: [a]\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:2:1: error: could not find expected ':'\n"
            "foo\n"
            "^\n");
  EXPECT_EQ(context(text), "could not find expected ':' at line 3");
}

TEST(YamlKeys, CommentAndBlankLinesAfterTheKey) {
  EXPECT_EQ(context("version: 0.2\nfoo # c\n\nphases:\n  build:\n    commands: [a]\n"),
            "could not find expected ':' at line 4");
}

TEST(YamlKeys, ColonOnTheNextLine) {
  EXPECT_EQ(context("version: 0.2\nphases:\n  build:\n    commands:\n      - a\nfoo bar\n"
                    "  baz: 1\n"),
            "could not find expected ':' at line 7");
}

TEST(YamlKeys, NestedInAListItem) {
  const std::string text =
      "version: 0.2\nphases:\n  build:\n    commands:\n      - a: 1\n        b\n      - c\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:6:9: error: could not find expected ':'\n"
            "        b\n"
            "        ^\n");
  EXPECT_EQ(context(text), "could not find expected ':' at line 7");
}

// The first key of a mapping is not bound to a line yet: libyaml says "mapping values are not
// allowed in this context", as yaml-cpp does.
TEST(YamlKeys, FirstKeyOfAMappingIsAnotherError) {
  EXPECT_EQ(context("version: 0.2\nphases:\n  build\n    commands: [a]\n"),
            "mapping values are not allowed in this context at line 4");
}

TEST(YamlKeys, ValidKeysAndMultiLineValuesPass) {
  const std::string text =
      "version: 0.2\n"
      "phases:\n"
      "  build:   # a comment\n"
      "    commands:\n"
      "      - echo a\n"
      "        b: c\n"
      "run-as: root\n";
  // A multi-line plain value (not a key) that meets ": " on a later line: libyaml's other error.
  EXPECT_EQ(context(text), "mapping values are not allowed in this context at line 6");
  auto ok = parse(
      "version: 0.2\nurl:x: http://example.com/a:b\nphases:\n  build:\n    commands:\n"
      "      - echo a\n        b\n      - 'x\n        y'\n");
  ASSERT_TRUE(ok.spec) << lint("");
  // An explicit key spans lines legitimately (a warning: a key that is no buildspec key).
  EXPECT_TRUE(
      parse("version: 0.2\n? foo\n  bar\n: 1\nphases:\n  build:\n    commands: [a]\n").spec);
  EXPECT_EQ(ok.spec->phases.at(PhaseName::kBuild).commands[0].text, "echo a b");
}

}  // namespace
}  // namespace kiln::spec
