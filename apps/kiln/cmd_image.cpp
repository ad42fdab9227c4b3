// kiln image build|list|rm: the curated build images and any others made from Debian packages
// (docs/images.md). `build` prints mmdebstrap's output as it goes and the time and sizes at the
// end, which bench figures are read from. Exit status: 0 done, 1 the build or removal failed,
// 2 a bad command line (an unknown option, a bad name, a non-curated name without packages).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "image/builder.h"
#include "image/catalog.h"
#include "image/store.h"
#include "signals.h"

namespace kiln::app {
namespace {

struct ImageOptions {
  std::string name;
  std::vector<std::string> packages;
  std::string image_dir;
  std::string mirror;
  bool no_trim = false;
};

image::ImageStore open_store(const ImageOptions& o) {
  return image::ImageStore(o.image_dir.empty() ? image::default_image_dir()
                                               : std::filesystem::path(o.image_dir));
}

std::string megabytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

int build(const ImageOptions& o) {
  image::BuildOptions b;
  b.name = o.name;
  b.packages = o.packages;
  b.mirror = o.mirror;
  b.trim = !o.no_trim;
  // The command line's own mistakes are usage errors (2), found before anything is downloaded.
  if (auto f = image::ImageStore::folder_name(b.name); !f) {
    std::fprintf(stderr, "kiln image build: %s\n", f.error().describe().c_str());
    return 2;
  }
  if (auto p = image::plan_build(b); !p) {
    std::fprintf(stderr, "kiln image build: %s\n", p.error().describe().c_str());
    return 2;
  }
  image::ImageStore store = open_store(o);
  auto cancel = exec::CancelToken::create();
  if (!cancel) {
    std::fprintf(stderr, "kiln image build: %s\n", cancel.error().describe().c_str());
    return 2;
  }
  install_signal_handlers(*cancel);
  auto built = image::build_image(
      store, b,
      [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
      },
      &*cancel);
  if (!built) {
    std::fprintf(stderr, "kiln image build: %s failed: %s\n", o.name.c_str(),
                 built.error().describe().c_str());
    return 1;
  }
  std::printf("image %s: %.1f s, rootfs %llu bytes, tar %llu bytes, in %s\n", built->name.c_str(),
              built->build_seconds, static_cast<unsigned long long>(built->rootfs_bytes),
              static_cast<unsigned long long>(built->tar_bytes), built->dir.c_str());
  return 0;
}

int list(const ImageOptions& o) {
  image::ImageStore store = open_store(o);
  auto images = store.list();
  if (!images) {
    std::fprintf(stderr, "kiln image list: %s\n", images.error().describe().c_str());
    return 1;
  }
  if (images->empty()) {
    std::fprintf(stderr, "no images in %s (kiln image build kiln/minimal makes one)\n",
                 store.root().c_str());
    return 0;
  }
  std::printf("%-20s %10s %10s  %-20s  %s\n", "NAME", "ROOTFS", "TAR", "BUILT", "RUNTIMES");
  for (const auto& e : *images) {
    std::string runtimes;
    for (const auto& [name, version] : e.runtimes)
      runtimes += (runtimes.empty() ? "" : ", ") + name + " " + version;
    std::printf("%-20s %10s %10s  %-20s  %s\n", e.name.c_str(), megabytes(e.rootfs_bytes).c_str(),
                megabytes(e.tar_bytes).c_str(), e.built_at.c_str(),
                runtimes.empty() ? "-" : runtimes.c_str());
  }
  return 0;
}

int remove(const ImageOptions& o) {
  image::ImageStore store = open_store(o);
  if (auto r = store.remove(o.name); !r) {
    std::fprintf(stderr, "kiln image rm: %s\n", r.error().describe().c_str());
    return r.error().code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("removed %s\n", o.name.c_str());
  return 0;
}

}  // namespace

std::function<int()> add_image_command(CLI::App& app) {
  auto o = std::make_shared<ImageOptions>();
  CLI::App* cmd = app.add_subcommand("image", "build and manage build images");
  cmd->require_subcommand(1);
  const std::string dir_help =
      "image store (default $KILN_IMAGE_DIR, else $XDG_DATA_HOME/kiln/images, else "
      "~/.local/share/kiln/images)";

  auto* build_cmd = cmd->add_subcommand("build", "build an image with mmdebstrap");
  build_cmd->add_option("name", o->name, "kiln/minimal, kiln/standard, kiln/docker or any name")
      ->required();
  build_cmd
      ->add_option("--packages", o->packages,
                   "Debian packages (comma-separated): added to a curated image's, or the "
                   "whole list for another name")
      ->delimiter(',');
  build_cmd->add_option("--image-dir", o->image_dir, dir_help);
  build_cmd->add_option("--mirror", o->mirror,
                        "Debian mirror URL (default: deb.debian.org with updates and security)");
  build_cmd->add_flag("--no-trim", o->no_trim,
                      "keep documentation, man pages and locales (for size comparisons)");

  auto* list_cmd = cmd->add_subcommand("list", "list built images");
  list_cmd->add_option("--image-dir", o->image_dir, dir_help);

  auto* rm_cmd = cmd->add_subcommand("rm", "delete a built image");
  rm_cmd->add_option("name", o->name, "image name")->required();
  rm_cmd->add_option("--image-dir", o->image_dir, dir_help);

  return [o, build_cmd, list_cmd, rm_cmd] {
    if (build_cmd->parsed()) return build(*o);
    if (list_cmd->parsed()) return list(*o);
    if (rm_cmd->parsed()) return remove(*o);
    return 2;
  };
}

}  // namespace kiln::app
