#include "spec/diagnostic.h"

#include <gtest/gtest.h>

namespace kiln::spec {
namespace {

Diagnostic at(int line, int column, std::string message,
              Diagnostic::Severity severity = Diagnostic::Severity::kError) {
  Diagnostic d;
  d.severity = severity;
  d.mark = Mark{line, column};
  d.message = std::move(message);
  return d;
}

TEST(FormatDiagnostic, ErrorWithSourceLineAndCaret) {
  const std::string source = "version: 0.2\nphases:\n  build:\n    commands:\n      - foo: bar\n";
  EXPECT_EQ(format_diagnostic("buildspec.yml", source, at(5, 9, "message")),
            "buildspec.yml:5:9: error: message\n"
            "      - foo: bar\n"
            "        ^\n");
}

TEST(FormatDiagnostic, Warning) {
  EXPECT_EQ(format_diagnostic("b.yml", "foo: 1\n",
                              at(1, 1, "unknown top-level key \"foo\" (ignored)",
                                 Diagnostic::Severity::kWarning)),
            "b.yml:1:1: warning: unknown top-level key \"foo\" (ignored)\n"
            "foo: 1\n"
            "^\n");
}

TEST(FormatDiagnostic, NoPositionPrintsOnlyTheFirstLine) {
  EXPECT_EQ(format_diagnostic("missing.yml", "", at(0, 0, "YAML file does not exist")),
            "missing.yml: error: YAML file does not exist\n");
}

TEST(FormatDiagnostic, TabsBeforeTheColumnAreKept) {
  EXPECT_EQ(format_diagnostic("b.yml", "a:\n\t x: y\n", at(2, 3, "m")),
            "b.yml:2:3: error: m\n"
            "\t x: y\n"
            "\t ^\n");
}

TEST(FormatDiagnostic, MultiByteCharactersTakeOneSpace) {
  // "é" is two bytes; yaml-cpp columns count bytes, the terminal shows one character.
  EXPECT_EQ(format_diagnostic("b.yml", "- é: x\n", at(1, 5, "m")),
            "b.yml:1:5: error: m\n"
            "- é: x\n"
            "   ^\n");
}

TEST(FormatDiagnostic, CarriageReturnIsNotQuoted) {
  EXPECT_EQ(format_diagnostic("b.yml", "a: 1\r\nb: 2\r\n", at(2, 4, "m")),
            "b.yml:2:4: error: m\n"
            "b: 2\n"
            "   ^\n");
}

TEST(FormatDiagnostic, ByteOrderMarkIsNotShownOrCounted) {
  EXPECT_EQ(format_diagnostic("b.yml", "\xEF\xBB\xBFversion: 1\n", at(1, 10, "m")),
            "b.yml:1:10: error: m\n"
            "version: 1\n"
            "         ^\n");
}

TEST(FormatDiagnostic, LinePastTheEndPrintsOnlyTheFirstLine) {
  EXPECT_EQ(format_diagnostic("b.yml", "a: [1,\n", at(2, 1, "did not find expected ',' or ']'")),
            "b.yml:2:1: error: did not find expected ',' or ']'\n");
}

TEST(FormatDiagnostic, LastLineWithoutLineBreak) {
  EXPECT_EQ(format_diagnostic("b.yml", "a: 1\nb", at(2, 1, "m")), "b.yml:2:1: error: m\nb\n^\n");
}

TEST(FormatDiagnostic, ColumnPastTheEndOfTheLineIsPadded) {
  EXPECT_EQ(format_diagnostic("b.yml", "ab\n", at(1, 5, "m")), "b.yml:1:5: error: m\nab\n    ^\n");
}

TEST(HasErrors, WarningsAreNotErrors) {
  EXPECT_FALSE(has_errors({}));
  EXPECT_FALSE(has_errors({at(1, 1, "w", Diagnostic::Severity::kWarning)}));
  EXPECT_TRUE(has_errors({at(1, 1, "w", Diagnostic::Severity::kWarning), at(2, 1, "e")}));
}

}  // namespace
}  // namespace kiln::spec
