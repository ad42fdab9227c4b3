#include "batch/member.h"

#include <algorithm>
#include <system_error>

#include "artifacts/collect.h"
#include "artifacts/glob.h"
#include "artifacts/tree_walk.h"
#include "artifacts/zip_writer.h"
#include "util/rooted_path.h"

namespace kiln::batch {
namespace {

namespace fs = std::filesystem;

// Real directories directly in `dir` (symlinks are not directories here: a member build may
// have planted one), sorted by name so the combined output is reproducible.
Result<std::vector<std::string>> subdirectories(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "list " + dir.string() + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st)) out.push_back(it->path().filename().string());
  }
  if (ec) return fail(ErrorCode::kIo, "list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// The member's primary artifact folder inside combine_dir/<id> (member_request points the
// member's artifacts there): named <id> unless the buildspec names it; secondary artifacts are
// the entries named <id>_... and temp folders of an interrupted write start with '.'.
// Empty: the member left no primary artifact (it failed, or has none).
Result<std::string> primary_folder(const fs::path& member_dir, const std::string& id) {
  auto dirs = subdirectories(member_dir);
  if (!dirs) return fail(std::move(dirs.error()));
  std::vector<std::string> candidates;
  for (auto& d : *dirs) {
    if (d == id) return d;
    if (d.front() == '.' || d.rfind(id + "_", 0) == 0) continue;
    candidates.push_back(std::move(d));
  }
  if (candidates.empty()) return std::string();
  if (candidates.size() > 1) {
    return fail(ErrorCode::kInvalidArgument,
                "build " + id + " left more than one artifact folder (" + candidates[0] + ", " +
                    candidates[1] + "): cannot tell its primary artifact");
  }
  return candidates.front();
}

}  // namespace

engine::BuildRequest member_request(const engine::BuildRequest& base, const Member& m,
                                    const std::string& uuid, const std::string& batch_arn,
                                    bool combine, const std::filesystem::path& combine_dir) {
  engine::BuildRequest r = base;
  r.identity.uuid = uuid;
  r.identity.batch_identifier = m.identifier;
  r.identity.build_batch_arn = batch_arn;
  // Only the batch's DOWNLOAD_SOURCE build reads the batchspec and stops; members run.
  r.batchspec_only = false;
  if (m.buildspec) {
    r.buildspec_path = *m.buildspec;
    r.buildspec_text.reset();
    r.buildspec_origin.clear();
  }
  if (m.env.image) r.identity.image = *m.env.image;
  if (m.env.compute_type) r.compute_type = *m.env.compute_type;
  if (m.env.privileged_mode) r.privileged_mode = *m.env.privileged_mode;
  if (m.env.type) r.environment_type = *m.env.type;
  // compose_environment applies a layer in order, the later value of a name winning.
  r.project_vars.insert(r.project_vars.end(), m.env.variables.begin(), m.env.variables.end());
  r.artifact_default_name = m.identifier;
  r.secondary_artifact_prefix = m.identifier + "_";
  if (combine) {
    // Unpackaged into the batch's combine folder; COMBINE_ARTIFACTS writes the one output.
    r.artifacts_dir = combine_dir / m.identifier;
    r.packaging = artifacts::Packaging::kNone;
    r.s3_artifacts.clear();
    r.s3_default_secondary = false;
  }
  return r;
}

Result<artifacts::ArtifactOutcome> combine_artifacts(const std::filesystem::path& combine_dir,
                                                     const std::filesystem::path& dest,
                                                     artifacts::Packaging packaging) {
  std::error_code ec;
  // Members create their folder only when they upload something: none may have.
  if (!fs::exists(combine_dir, ec) && !ec) fs::create_directories(combine_dir, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + combine_dir.string() + ": " + ec.message());
  auto root = RootedPath::resolve(combine_dir, "");
  if (!root) return fail(std::move(root.error()).with("while combining batch artifacts"));
  auto members = subdirectories(root->root());
  if (!members) return fail(std::move(members.error()));
  auto everything = artifacts::Glob::compile("**/*");
  if (!everything) return fail(std::move(everything.error()));
  const std::vector<artifacts::Glob> include{*everything};
  const std::vector<artifacts::Glob> exclude;

  artifacts::FileList files;
  files.root = root->root();
  for (const std::string& id : *members) {
    auto primary = primary_folder(root->root() / id, id);
    if (!primary) return fail(std::move(primary.error()).with("while combining batch artifacts"));
    if (primary->empty()) continue;
    // Each member's folder is a root of its own: a symlink a build left there is followed only
    // when it stays inside that folder, never into another member's or out of combine_dir.
    const fs::path member_root = root->root() / id / *primary;
    artifacts::WalkSpec ws{member_root, "", &include, &exclude, false, std::nullopt};
    auto walk = artifacts::walk_tree(ws);
    if (!walk) return fail(std::move(walk.error()).with("while combining the artifacts of " + id));
    const std::string prefix = id + "/" + *primary + "/";
    for (const artifacts::WalkHit& h : walk->hits) {
      artifacts::Entry e;
      e.archive_path = id + "/" + h.rel;
      e.source_rel = prefix + h.source_rel;
      e.source = files.root / e.source_rel;
      files.entries.push_back(std::move(e));
    }
  }
  // Sorted by archive path (zip_writer.h): identifiers never contain '/', so sorting by member
  // then by path inside it is not the same as bytewise order ("a/x" vs "a_b/y").
  std::sort(files.entries.begin(), files.entries.end(),
            [](const artifacts::Entry& a, const artifacts::Entry& b) {
              return a.archive_path < b.archive_path;
            });

  if (dest.has_parent_path()) fs::create_directories(dest.parent_path(), ec);
  if (ec)
    return fail(ErrorCode::kIo, "create " + dest.parent_path().string() + ": " + ec.message());
  auto written = packaging == artifacts::Packaging::kZip ? artifacts::write_zip(files, dest)
                                                         : artifacts::write_folder(files, dest);
  if (!written) return fail(std::move(written.error()).with("while combining batch artifacts"));
  artifacts::ArtifactOutcome o;
  o.location = written->location;
  o.sha256 = std::move(written->sha256);
  o.md5 = std::move(written->md5);
  o.file_count = written->file_count;
  return o;
}

}  // namespace kiln::batch
