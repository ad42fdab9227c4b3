#include "util/rooted_path.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "util/string.h"

namespace kiln {

namespace {

constexpr int kMaxSymlinks = 40;  // Linux's MAXSYMLINKS

// Pushes the components of `path` to the front of `queue`, keeping their order.
void prepend_components(std::string_view path, std::deque<std::string>& queue) {
  const std::vector<std::string_view> parts = split(path, '/');
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) queue.emplace_front(*it);
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

// If `abs` lies under `root` (both absolute and normal), the remainder; else nullopt.
std::optional<std::string_view> strip_root(std::string_view abs, std::string_view root) {
  if (root == "/") return abs.substr(1);
  if (abs.substr(0, root.size()) != root) return std::nullopt;
  if (abs.size() == root.size()) return std::string_view();
  if (abs[root.size()] != '/') return std::nullopt;
  return abs.substr(root.size() + 1);
}

Result<std::string> read_link(const std::string& path) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "readlink " + path));
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

}  // namespace

Result<RootedPath> RootedPath::resolve(const std::filesystem::path& root,
                                       std::string_view user_path) {
  return resolve(root, user_path, Options{});
}

Result<RootedPath> RootedPath::resolve(const std::filesystem::path& root,
                                       std::string_view user_path, Options options) {
  const std::string shown(user_path);
  if (root.empty()) return fail(ErrorCode::kInvalidArgument, "empty root for path " + shown);
  if (user_path.find('\0') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "path contains a NUL byte: " + shown);
  }
  if (!user_path.empty() && user_path.front() == '/') {
    return fail(ErrorCode::kPathEscape, "absolute path not allowed: " + shown);
  }

  std::unique_ptr<char, decltype(&std::free)> real(::realpath(root.c_str(), nullptr), &std::free);
  if (!real) return fail(errno_error(ErrorCode::kNotFound, "root " + root.string()));
  const std::string canonical_root = real.get();
  // A link may name the root by the spelling the caller used (e.g. /tmp/x when /tmp is itself a
  // symlink); accept that spelling too.
  std::error_code ec;
  const std::string given_root = std::filesystem::absolute(root, ec).lexically_normal().string();
  const std::string given_trimmed = given_root.size() > 1 && given_root.back() == '/'
                                        ? given_root.substr(0, given_root.size() - 1)
                                        : given_root;

  std::deque<std::string> queue;
  prepend_components(user_path, queue);
  std::vector<std::string> stack;  // resolved components: real directories, never symlinks
  std::string last_link;           // for messages: "through symlink a/b -> /etc"
  int links = 0;
  bool exists = true;

  auto escape = [&]() {
    std::string msg = "path escapes its root: " + shown;
    if (!last_link.empty()) msg += " (through symlink " + last_link + ")";
    return fail(ErrorCode::kPathEscape, std::move(msg));
  };

  while (!queue.empty()) {
    std::string comp = std::move(queue.front());
    queue.pop_front();
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      // The stack holds no symlinks, so popping it is the physical parent.
      if (stack.empty()) return escape();
      stack.pop_back();
      continue;
    }
    if (!exists) {
      stack.push_back(std::move(comp));
      continue;
    }
    const bool is_last = queue.empty();
    std::string full = canonical_root;
    if (full != "/") full += '/';
    if (!stack.empty()) full += join(stack) + '/';
    full += comp;

    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) {
      if (errno == ENOENT && options.allow_missing) {
        exists = false;
        stack.push_back(std::move(comp));
        continue;
      }
      if (errno == ENOENT) return fail(ErrorCode::kNotFound, "no such file or directory: " + shown);
      return fail(errno_error(ErrorCode::kIo, "lstat " + full));
    }
    if (S_ISLNK(st.st_mode) && (!is_last || options.follow_final)) {
      if (++links > kMaxSymlinks) {
        return fail(ErrorCode::kInvalidArgument, "too many levels of symbolic links: " + shown);
      }
      auto target = read_link(full);
      if (!target) return fail(std::move(target.error()));
      std::string link_rel = stack.empty() ? comp : join(stack) + '/' + comp;
      last_link = link_rel + " -> " + *target;
      if (!target->empty() && target->front() == '/') {
        const std::string normal = std::filesystem::path(*target).lexically_normal().string();
        auto rest = strip_root(normal, canonical_root);
        if (!rest) rest = strip_root(normal, given_trimmed);
        if (!rest) return escape();
        stack.clear();
        prepend_components(*rest, queue);
      } else {
        prepend_components(*target, queue);
      }
      continue;
    }
    if (!is_last && !S_ISDIR(st.st_mode)) {
      return fail(ErrorCode::kNotFound, "not a directory: " + join(stack) +
                                            (stack.empty() ? "" : "/") + comp + " in " + shown);
    }
    stack.push_back(std::move(comp));
  }
  return RootedPath(std::filesystem::path(canonical_root), join(stack), exists);
}

std::filesystem::path RootedPath::absolute() const {
  if (relative_.empty()) return root_;
  return root_ / relative_;
}

}  // namespace kiln
