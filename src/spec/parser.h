// Parses buildspec text into the typed model (yaml-cpp underneath).
//
// Never throws: every yaml-cpp exception is turned into a Diagnostic. Errors follow CodeBuild's
// wording (docs/reference/codebuild-semantics.md §1.9); unknown keys are warnings so newer
// buildspecs still run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spec/buildspec.h"
#include "spec/diagnostic.h"

namespace kiln::spec {

// The largest buildspec kiln reads from a file (docs/buildspec.md "Where the buildspec is read
// from"). CodeBuild documents no limit for files; its inline buildspecs stop at 25,600
// characters (https://github.com/aws/aws-cdk/pull/14974). 1 MiB is forty times that, far above
// any real buildspec, and bounds what a hostile path (/dev/zero, a huge file) can make kiln read.
inline constexpr std::uint64_t kMaxBuildspecBytes = std::uint64_t{1} << 20;

struct ParseOutcome {
  std::optional<Buildspec> spec;        // set iff there are no errors
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in source order
};

// `path` is used only for messages and is stored in Buildspec::path.
ParseOutcome parse_buildspec(const std::string& text, const std::string& path);

// The message CodeBuild would put in the DOWNLOAD_SOURCE YAML_FILE_ERROR context for this
// diagnostic, e.g. "found character that cannot start any token at line 3".
std::string phase_context_message(const Diagnostic& d);

// Whether any of the four phases is in the buildspec.
bool has_phases(const Buildspec& spec);

// What decides whether a buildspec runs as a batch (docs/batch.md): `batch` without phases, with
// them, or no batch. Parses only a text that mentions "batch" (most do not, and their build
// parses them anyway); a text that does not parse is kNone, its build reports why.
enum class BatchShape { kNone, kBatchOnly, kBatchAndPhases };
BatchShape batch_shape(const std::string& text, const std::string& path);

}  // namespace kiln::spec
