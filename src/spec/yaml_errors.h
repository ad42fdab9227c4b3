// YAML syntax errors in go-yaml's wording.
//
// CodeBuild parses buildspecs with go-yaml (a port of libyaml) and shows its messages in the
// YAML_FILE_ERROR context as "<message> at line N" (docs/reference/codebuild-semantics.md §1.9).
// Kiln parses with yaml-cpp, whose messages differ ("illegal map value" where go-yaml says "mapping
// values are not allowed in this context"). This file maps yaml-cpp's messages to go-yaml's where
// the two mean the same thing, and keeps yaml-cpp's text otherwise. Internal to spec/.
#pragma once

#include <optional>
#include <string>

#include "spec/diagnostic.h"

namespace kiln::spec::yaml {

// go-yaml reports scanner errors with a 1-based line and parser errors with the 0-based line of
// the token it stopped at; either way the first line is reported as 0.
enum class ErrorClass { kScanner, kParser };

// A syntax error at the 0-based position (line0, col0). Sets mark (1-based) and yaml_line.
Diagnostic syntax_error(int line0, int col0, std::string message, ErrorClass cls);

// Translates the message of a yaml-cpp exception raised at (line0, col0) while parsing `text`.
// A tab in the indentation of that line (or of the line before) is reported the way go-yaml
// reports it, at the tab, whatever yaml-cpp said.
Diagnostic translate_error(const std::string& text, int line0, int col0, const std::string& msg);

// yaml-cpp accepts a quoted scalar that runs to the end of the input; go-yaml does not. If the
// quoted scalar whose opening quote is at byte `pos` of `text` is never closed, returns go-yaml's
// error, placed at the opening quote so the caret points somewhere useful.
std::optional<Diagnostic> unterminated_quote(const std::string& text, int pos, int line0, int col0);

// libyaml, and so go-yaml, requires an implicit key of a block mapping to end with ':' on the line
// where it starts ("could not find expected ':'"); yaml-cpp reads on and takes a plain scalar that
// runs over several lines as the key, so a committed merge conflict (`<<<<<<< HEAD` at column 0,
// tests/corpus/buildspecs/054) passes or fails elsewhere. For the plain key that starts at byte
// `pos`, on the 0-based line `line0` and at column `col0` (its mapping's indentation), returns
// go-yaml's error, placed at the key, with the line where libyaml notices (yaml_line); or
// nothing when the key's line has its ':'.
std::optional<Diagnostic> multiline_key(const std::string& text, size_t pos, int line0, int col0);

// For text that yaml-cpp rejected at the 0-based (line0, col0): the first key at column 0 of a
// root block mapping, starting at or before that position, that multiline_key() refuses. libyaml
// stops at such a key, and yaml-cpp, which reads on, fails at it or after it under another
// message ("did not find expected key", "mapping values are not allowed in this context").
std::optional<Diagnostic> multiline_root_key_before(const std::string& text, int line0, int col0);

// The anchor name written after the '*' at byte `pos` of `text` ("" if there is none).
std::string alias_name(const std::string& text, int pos);

}  // namespace kiln::spec::yaml
