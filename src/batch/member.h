// One member build of a batch, made from the batch's own request (docs/batch.md "Member
// builds"): the same sources, project and overrides, with the task's buildspec, environment and
// variables, CODEBUILD_BATCH_BUILD_IDENTIFIER, buildBatchArn, and artifacts named after the
// member (§5.4). Used by `kiln run --batch` and the server's batch coordinator alike.
//
// Thread safety: pure functions.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "artifacts/uploader.h"
#include "batch/plan.h"
#include "engine/engine.h"

namespace kiln::batch {

// `base` is the batch's request (what StartBuildBatch or kiln run's flags make; its
// buildspec_path/text is the batchspec). The result keeps base.identity but for uuid (given),
// batch_identifier and build_batch_arn, and takes from the member:
// - buildspec: the member's file (buildspec_path, relative to the source; buildspec_text
//   cleared), else the batch's own;
// - environment: image (also identity.image), compute_type, privileged_mode, environment_type;
// - variables: appended to project_vars (so a project variable of the same name is replaced and
//   StartBuild's overrides still win);
// - artifacts: without combine, the primary artifact's default name is the identifier and
//   secondary artifacts are named <identifier>_<artifactIdentifier> (§5.4); with combine, the
//   primary goes to `combine_dir`/<identifier> unpackaged (combine_artifacts zips them).
// The caller sets build_root (and, for the server, reports_dir).
engine::BuildRequest member_request(const engine::BuildRequest& base, const Member& m,
                                    const std::string& uuid, const std::string& batch_arn,
                                    bool combine, const std::filesystem::path& combine_dir);

// COMBINE_ARTIFACTS: the members' primary artifacts (each a folder under `combine_dir`, named
// by identifier) into one output at `dest` (a ZIP, or a folder with Packaging::kNone), in
// folders named by build identifier. Returns what the batch's artifacts record shows.
// Each member's primary is the folder combine_dir/<id>/<id> (or, when its buildspec names the
// artifact, the one folder there not named <id>_...: those are its secondary artifacts); a
// member without one (it failed, or has no artifacts) adds nothing, and a missing combine_dir
// gives an empty output. Files come from untrusted builds: symlinks are followed only within
// the member's own primary folder, member folders that are symlinks are skipped, and entries
// are read beneath combine_dir without following links (artifacts/zip_writer.h).
Result<artifacts::ArtifactOutcome> combine_artifacts(const std::filesystem::path& combine_dir,
                                                     const std::filesystem::path& dest,
                                                     artifacts::Packaging packaging);

}  // namespace kiln::batch
