// What `kiln run --batch` makes of its builds' records (docs/batch.md "kiln run --batch"): the
// build group's end for batch/run.h, why the batchspec's build failed, the record of a build
// that could not be set up; and the run's secret resolver, shared by builds on several threads.
// Thread safety: pure functions; LockedResolver may be called from any thread.
#pragma once

#include <string>

#include "batch/record.h"
#include "batch/run.h"
#include "engine/engine.h"
#include "secrets/resolver.h"
#include "util/thread_annotations.h"

namespace kiln::app {

// The resolvers are made for one build on one thread (secrets/resolver.h); the members share
// the run's, one lookup at a time.
class LockedResolver final : public secrets::SecretResolver {
 public:
  explicit LockedResolver(secrets::SecretResolver& inner) : inner_(inner) {}
  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret_text(const secrets::SecretReference& ref) override;
  Result<std::vector<secrets::SecretStore::SourceCredential>> source_credentials() override;

 private:
  Mutex mu_;
  secrets::SecretResolver& inner_ GUARDED_BY(mu_);
};

// A build that could not be set up (no build folder, no executor): FAULT in PROVISIONING, with
// `message` as its context.
engine::BuildRecord setup_failed(const engine::BuildRequest& req, const std::string& message,
                                 double now);

// The group's end: status, artifacts as ResolvedArtifacts (`s3`: they went to S3; a local
// folder's have no type in CodeBuild's enum, Kiln says LOCAL), reports.
batch::MemberEnd member_end(const engine::BuildRecord& r, bool s3);

// The context of the first phase that did not succeed: why DOWNLOAD_BATCHSPEC failed.
batch::BatchPhaseContext failure_of(const engine::BuildRecord& r);

}  // namespace kiln::app
