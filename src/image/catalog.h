// The curated build images (docs/images.md): what each holds, which CodeBuild image names map to
// which of them, and what `phases.install.runtime-versions` may select in each
// (docs/reference/codebuild-semantics.md §1.9, §3.7).
//
// Everything here is static data and pure functions, with no dependency beyond util, so the API
// layer (ListCuratedEnvironmentImages) and its fuzz target can use it without the builder.
// Thread safety: all functions are pure; the catalog is immutable after static initialisation.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace kiln::image {

// One runtime an image provides. Debian 12 ships exactly one version of each, so a runtime has
// one version; `aliases` are other spellings CodeBuild buildspecs use for the same thing.
struct Runtime {
  std::string name;                  // the runtime-versions key: "python", "java"
  std::string version;               // in CodeBuild's naming: "3.11", "openjdk17", "18"
  std::vector<std::string> aliases;  // also accepted: "corretto17" for OpenJDK 17
  std::string language;              // ListCuratedEnvironmentImages' LanguageType: "PYTHON"
  // What selecting the runtime sets in the build's environment, NAME -> literal value. The
  // binaries themselves are on the image's default PATH (/usr/bin) whether selected or not.
  std::vector<std::pair<std::string, std::string>> env;
};

// The runtimes of one image, in display order. Empty: the image has no runtime selection
// (kiln/minimal, and every image that is not curated).
using ImageRuntimes = std::vector<Runtime>;

struct CuratedImage {
  std::string name;         // "kiln/standard"
  std::string description;  // one line, shown by ListCuratedEnvironmentImages
  std::string base;         // the curated image this one adds to; "" for kiln/minimal
  // Debian packages this layer adds to its base (mmdebstrap --include); the base's own come
  // from all_packages(). kiln/minimal adds none: --variant=minbase is the whole image.
  std::vector<std::string> packages;
  ImageRuntimes runtimes;  // everything the image provides, its base's included
};

// The Debian release every curated image is built from.
inline constexpr const char* kSuite = "bookworm";

// kiln/minimal, kiln/standard, kiln/docker, smallest first; each layered on the one before.
const std::vector<CuratedImage>& curated_images();

// The curated image called `name` ("kiln/standard" or "kiln/standard:latest"), or nullptr.
const CuratedImage* find_curated(const std::string& name);

// The packages of `image` and of every base below it, bases first, without duplicates.
std::vector<std::string> all_packages(const CuratedImage& image);

// --- CodeBuild image names ---------------------------------------------------------------

struct MappedImage {
  // The image to run: a curated name ("kiln/standard"), or the requested name unchanged.
  std::string image;
  const CuratedImage* curated = nullptr;  // set when `image` is a curated image
  // A line for the build log when the request was replaced or cannot run here; "" otherwise.
  //   "Image aws/codebuild/standard:7.0 is not available here: using kiln/standard, the
  //    nearest curated image"
  std::string note;
};

// Maps CodeBuild's managed image names to the nearest curated image:
//   aws/codebuild/standard:*, aws/codebuild/amazonlinux{,2}-{x86_64,aarch64}-standard:*,
//   the Lambda images (…-lambda-standard:*), aws/codebuild/ubuntu-base:*, and the retired
//   per-language images (aws/codebuild/python:*, nodejs, java, golang, …) -> kiln/standard,
//   or kiln/docker when `wants_docker` (a privileged project, the only kind that can use
//   Docker on CodeBuild); aws/codebuild/docker:* -> kiln/docker. The same names under
//   public.ecr.aws/codebuild/ map alike. kiln/<curated>[:latest] is used as is, without a note.
// Windows and macOS images keep their name, with a note that Kiln cannot run them. Anything
// else (ubuntu:22.04, a private registry's image) is returned unchanged, without a note: the
// docker executor pulls it.
MappedImage map_image(const std::string& requested, bool wants_docker = false);

// --- runtime-versions ---------------------------------------------------------------------

// The warning CodeBuild logs when a buildspec selects runtimes on an image that has none.
inline constexpr const char* kNoRuntimeSelection =
    "Skipping install of runtimes. Runtime version selection is not supported by this build "
    "image";

struct SelectedRuntime {
  std::string name;       // "java"
  std::string version;    // the image's version, in CodeBuild's naming: "openjdk17"
  std::string requested;  // as written: "corretto17", "3.x", "latest"; "" for a default
  std::vector<std::pair<std::string, std::string>> env;  // Runtime::env
};

struct SelectedRuntimes {
  std::vector<SelectedRuntime> runtimes;  // in the buildspec's order, or the image's
  std::vector<std::string> log;           // lines for the build log (warnings, aliases used)
};

// A runtime-versions entry the image cannot satisfy. `message` is CodeBuild's text, which the
// engine reports as `YAML_FILE_ERROR` in DOWNLOAD_SOURCE (docs/reference/codebuild-semantics.md
// §1.9):
//   Unknown runtime named 'ruby'. This build image has the following runtimes: golang, java,
//   nodejs, python
//   Unknown runtime version named '20' of nodejs. This build image has the following versions: 18
struct RuntimeError {
  std::string message;
};

// Chooses runtimes as CodeBuild does (§3.7). `requested` is phases.install.runtime-versions in
// buildspec order, with `$VAR` and `${VAR}` already expanded by the caller. A version matches
// when it is the runtime's version or an alias, `latest`, or `<prefix>.x` where the version is
// <prefix> or starts with "<prefix>." (`3.x` and `3.11.x` match 3.11; `18.x` matches 18).
//   - `requested` empty: every runtime of the image with its defaults (CodeBuild "chooses the
//     default runtimes available in the image"), no log lines.
//   - the image has no runtimes: nothing selected and kNoRuntimeSelection in `log`.
//   - the first unknown runtime or version: its RuntimeError.
tl::expected<SelectedRuntimes, RuntimeError> select_runtimes(
    const ImageRuntimes& image, const std::vector<std::pair<std::string, std::string>>& requested);

}  // namespace kiln::image
