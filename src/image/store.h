// The image store: a folder of built images that the sandbox runs from (rootfs/) and the docker
// executor loads (image.tar, for `docker import`). Layout (docs/images.md "Store"):
//
//   <root>/<name, '/' -> '_'>/rootfs/       the mmdebstrap tree
//   <root>/<name, '/' -> '_'>/image.tar     the same tree as a tar
//   <root>/<name, '/' -> '_'>/image.json    name, packages, runtimes, built_at, sizes, seconds
//   <root>/.<name, '/' -> '_'>.tmp-<pid>-<random>/   a build in progress (Staging)
//
// An image appears only complete: a build fills a hidden staging folder and renames it into
// place (exchanging it with the old image, if any), and remove() renames the image away before
// deleting it. A crash leaves a hidden folder that list() and find() ignore and the next
// begin() deletes once its process is gone: its pid is not running and the flock it held on
// <staging>/.lock is free (the lock also covers a builder in another pid namespace).
//
// Thread safety: an ImageStore holds only its root; concurrent calls, even from several
// processes, see whole images. Two builds of one name race; the last commit wins.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::image {

// Where `kiln image` and `kiln run` keep images: $KILN_IMAGE_DIR, else
// $XDG_DATA_HOME/kiln/images, else $HOME/.local/share/kiln/images. The server uses DATA/images.
std::filesystem::path default_image_dir();

struct ImageEntry {
  std::string name;                                           // "kiln/minimal"
  std::filesystem::path dir;                                  // <root>/kiln_minimal
  std::filesystem::path rootfs;                               // dir / "rootfs"
  std::filesystem::path tar;                                  // dir / "image.tar"
  std::string suite;                                          // "bookworm"
  std::vector<std::string> packages;                          // --include, in order
  std::vector<std::pair<std::string, std::string>> runtimes;  // runtime -> version
  std::string built_at;                                       // UTC, "2025-05-20T10:11:12Z"
  std::uint64_t rootfs_bytes = 0;  // apparent size of the tree, hard links counted once
  std::uint64_t tar_bytes = 0;
  double build_seconds = 0;  // mmdebstrap and the tar together
};

class ImageStore {
 public:
  explicit ImageStore(std::filesystem::path root);

  // "kiln/minimal" -> "kiln_minimal". kInvalidArgument unless `name` is a docker repository
  // path without registry or tag: lower-case letters and digits in runs joined by '.', '_' or
  // '-', components joined by '/'. A trailing ":latest" is dropped. Names that differ only by
  // '/' and '_' share a folder; image.json says whose it is, and a build for the other refuses.
  [[nodiscard]] static Result<std::string> folder_name(const std::string& name);

  const std::filesystem::path& root() const { return root_; }

  // The complete image called `name`; nullopt when there is none. Errors: a bad name, or an
  // image.json that cannot be read (kIo, kParse).
  [[nodiscard]] Result<std::optional<ImageEntry>> find(const std::string& name) const;
  // Every complete image, by name. An unreadable image.json is skipped, not an error: one
  // broken image must not hide the others. A missing root is an empty store.
  [[nodiscard]] Result<std::vector<ImageEntry>> list() const;
  // Deletes the image. kNotFound when there is none.
  [[nodiscard]] Result<void> remove(const std::string& name);

  // A build's hidden folder. Deleted by the destructor unless commit() took it.
  class Staging {
   public:
    Staging(Staging&& other) noexcept;
    Staging(const Staging&) = delete;
    Staging& operator=(const Staging&) = delete;
    Staging& operator=(Staging&&) = delete;
    ~Staging();
    const std::string& name() const { return name_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path rootfs() const { return dir_ / "rootfs"; }
    std::filesystem::path tar() const { return dir_ / "image.tar"; }

   private:
    friend class ImageStore;
    Staging(std::string name, std::filesystem::path dir, std::filesystem::path final_dir,
            UniqueFd lock)
        : name_(std::move(name)),
          dir_(std::move(dir)),
          final_(std::move(final_dir)),
          lock_(std::move(lock)) {}
    std::string name_;
    std::filesystem::path dir_;
    std::filesystem::path final_;
    UniqueFd lock_;  // flock on dir_/.lock while the build runs
  };

  // Creates <root>/.<folder>.tmp-<pid>/ (and the root), after deleting the staging folders of
  // processes that no longer exist. kAlreadyExists when the folder holds another name's image.
  [[nodiscard]] Result<Staging> begin(const std::string& name);
  // Writes image.json from `entry` (its name and paths are set here), flushes the file system,
  // and moves the staging folder into place, replacing the old image in one rename. The
  // Staging is spent either way.
  [[nodiscard]] Result<ImageEntry> commit(Staging staging, ImageEntry entry);

 private:
  std::filesystem::path root_;
};

// Deletes a folder tree that may have held a chroot: refused (kIo) while anything is mounted
// at or below it (a killed mmdebstrap can leave /proc or /dev bind-mounted inside), so a
// deletion never reaches into the host's /dev. A missing folder is not an error.
[[nodiscard]] Result<void> remove_tree(const std::filesystem::path& dir);

// The apparent size of the regular files and symlinks below `dir`, each inode counted once.
[[nodiscard]] Result<std::uint64_t> tree_bytes(const std::filesystem::path& dir);

}  // namespace kiln::image
