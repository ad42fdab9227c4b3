// Building an image from Debian packages with mmdebstrap (docs/images.md "Building"):
//
//   mmdebstrap --variant=minbase --mode=root --format=directory --include=<packages>
//              [trim options] bookworm <staging>/rootfs [MIRROR]
//
// then image.tar from the tree (tar.h), then image.json, and the staging folder is renamed into
// place (store.h). As root, mmdebstrap writes the directory itself: only root mode gets its
// owners and device nodes right. As another user it runs in --mode=unshare (user namespaces,
// /etc/subuid needed) and writes image.tar instead, and rootfs/ is unpacked from that tar with
// the user's own owner and without device nodes: enough for a rootless sandbox, which maps the
// user to root. The unshare path has not been run by the tests, which run as root.
//
// "Trim" drops what a build never reads, as Debian's slim images do: documentation (but the
// copyright files), man and info pages, translations (but locale.alias) and lintian overrides,
// via dpkg path-exclude options; and mmdebstrap's merged-usr hook sets up /usr without the
// usrmerge package, which would pull in perl. Together they halve kiln/minimal.
//
// Thread safety: build_image may run concurrently for different names; it blocks until
// mmdebstrap exits and calls `log` on the calling thread only.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "exec/executor.h"
#include "image/catalog.h"
#include "image/store.h"
#include "util/error.h"

namespace kiln::image {

struct BuildOptions {
  std::string name;  // "kiln/standard", or any image name ImageStore accepts
  // For a curated name: packages added to its catalog set. For any other name: every package
  // beyond minbase, required.
  std::vector<std::string> packages;
  // "" lets mmdebstrap choose: deb.debian.org, plus <suite>-updates and the security archive.
  // A URL ("http://mirror/debian") or a whole sources.list line uses only that.
  std::string mirror;
  std::string suite = kSuite;
  bool trim = true;  // the path excludes and merged-usr hook above
  enum class Mode { kAuto, kRoot, kUnshare };
  Mode mode = Mode::kAuto;  // kAuto: kRoot when the effective uid is 0
  std::string mmdebstrap;   // the program; "" searches PATH
};

// Called with each line mmdebstrap prints (stdout and stderr together) and Kiln's own steps.
using LogFn = std::function<void(std::string_view line)>;

// The packages to --include for `options`, and the runtimes the image will provide. Errors:
// kInvalidArgument for a non-curated name without packages or a package name apt would take as
// an option or pattern.
struct BuildPlan {
  std::vector<std::string> packages;
  ImageRuntimes runtimes;
};
[[nodiscard]] Result<BuildPlan> plan_build(const BuildOptions& options);

// mmdebstrap's argv (argv[0] "mmdebstrap"), writing to `target`: a folder in root mode, a
// .tar file in unshare mode.
std::vector<std::string> mmdebstrap_argv(const BuildOptions& options, bool root_mode,
                                         const std::vector<std::string>& packages,
                                         const std::filesystem::path& target);

// Builds the image and stores it, replacing an older one of the same name only on success.
// Errors: kNotFound when mmdebstrap is not installed ("install mmdebstrap"); kProcess when it
// fails, with its first "E:" line ("E: Unable to locate package foo"); kCancelled when
// `cancel` fires (mmdebstrap and everything it started are killed); kIo and the store's
// errors. On any error the staging folder is deleted and the store is as it was.
[[nodiscard]] Result<ImageEntry> build_image(ImageStore& store, const BuildOptions& options,
                                             const LogFn& log,
                                             const exec::CancelToken* cancel = nullptr);

}  // namespace kiln::image
