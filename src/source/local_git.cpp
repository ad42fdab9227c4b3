#include "source/local_git.h"

#include <fstream>
#include <sstream>

namespace kiln::source {

namespace fs = std::filesystem;

namespace {
std::optional<std::string> read_first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

bool is_commit(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::optional<fs::path> git_dir(const fs::path& dir) {
  const fs::path dot_git = dir / ".git";
  std::error_code ec;
  if (fs::is_directory(dot_git, ec)) return dot_git;
  if (!fs::is_regular_file(dot_git, ec)) return std::nullopt;
  auto line = read_first_line(dot_git);  // "gitdir: ../.git/worktrees/x"
  if (!line || line->rfind("gitdir: ", 0) != 0) return std::nullopt;
  fs::path target = line->substr(8);
  return target.is_absolute() ? target : dir / target;
}

// Worktrees keep refs in the main repository, named by the `commondir` file.
fs::path common_dir(const fs::path& gd) {
  if (auto c = read_first_line(gd / "commondir")) {
    fs::path p = *c;
    return p.is_absolute() ? p : gd / p;
  }
  return gd;
}

std::optional<std::string> resolve_ref(const fs::path& gd, const std::string& ref) {
  for (const fs::path& base : {gd, common_dir(gd)}) {
    if (auto loose = read_first_line(base / ref); loose && is_commit(*loose)) return loose;
    std::ifstream packed(base / "packed-refs");
    std::string line;
    while (std::getline(packed, line)) {
      if (line.empty() || line[0] == '#' || line[0] == '^') continue;
      std::istringstream fields(line);
      std::string sha, name;
      fields >> sha >> name;
      if (name == ref && is_commit(sha)) return sha;
    }
  }
  return std::nullopt;
}
}  // namespace

std::optional<GitHead> read_git_head(const fs::path& dir) {
  auto gd = git_dir(dir);
  if (!gd) return std::nullopt;
  auto head = read_first_line(*gd / "HEAD");
  if (!head) return std::nullopt;
  if (is_commit(*head)) return GitHead{*head, ""};
  if (head->rfind("ref: ", 0) != 0) return std::nullopt;
  const std::string ref = head->substr(5);
  auto commit = resolve_ref(*gd, ref);
  if (!commit) return std::nullopt;  // an unborn branch: no commits yet
  const std::string prefix = "refs/heads/";
  return GitHead{*commit, ref.rfind(prefix, 0) == 0 ? ref.substr(prefix.size()) : ""};
}

}  // namespace kiln::source
