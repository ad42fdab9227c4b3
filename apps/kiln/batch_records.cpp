#include "batch_records.h"

namespace kiln::app {

using json = nlohmann::json;

Result<std::string> LockedResolver::parameter(const std::string& name) {
  MutexLock lock(mu_);
  return inner_.parameter(name);
}

Result<std::string> LockedResolver::secret_text(const secrets::SecretReference& ref) {
  MutexLock lock(mu_);
  return inner_.secret_text(ref);
}

Result<std::vector<secrets::SecretStore::SourceCredential>> LockedResolver::source_credentials() {
  MutexLock lock(mu_);
  return inner_.source_credentials();
}

engine::BuildRecord setup_failed(const engine::BuildRequest& req, const std::string& message,
                                 double now) {
  engine::BuildRecord r = engine::record_for(req);
  r.start_time = now;
  r.end_time = now;
  r.phases = engine::queue_phases(now, now);
  engine::PhaseRecord p;
  p.type = engine::PhaseType::kProvisioning;
  p.status = engine::Status::kFault;
  p.start_time = now;
  p.end_time = now;
  p.duration_seconds = 0;
  p.contexts.push_back({"CLIENT_ERROR", message});
  r.phases.push_back(std::move(p));
  engine::PhaseRecord done;
  done.type = engine::PhaseType::kCompleted;
  done.start_time = now;
  r.phases.push_back(std::move(done));
  r.current_phase = engine::PhaseType::kCompleted;
  r.build_status = engine::Status::kFault;
  r.build_complete = true;
  return r;
}

namespace {

json resolved(const engine::ArtifactRecord& a, bool s3) {
  json j{{"type", s3 ? "S3" : "LOCAL"}, {"location", a.location}};
  if (!a.identifier.empty()) j["identifier"] = a.identifier;
  return j;
}

}  // namespace

batch::MemberEnd member_end(const engine::BuildRecord& r, bool s3) {
  batch::MemberEnd end;
  end.status = engine::to_string(r.build_status);
  if (r.artifacts) end.primary_artifact = resolved(*r.artifacts, s3);
  end.secondary_artifacts = json::array();
  for (const auto& a : r.secondary_artifacts) end.secondary_artifacts.push_back(resolved(a, s3));
  end.report_arns = r.report_arns;
  return end;
}

batch::BatchPhaseContext failure_of(const engine::BuildRecord& r) {
  for (const auto& p : r.phases) {
    if (!p.status || *p.status == engine::Status::kSucceeded ||
        p.type == engine::PhaseType::kCompleted)
      continue;
    for (const auto& c : p.contexts)
      if (!c.status_code.empty() || !c.message.empty()) return {c.status_code, c.message};
    return {engine::to_string(*p.status),
            std::string("the batchspec build ended in ") + engine::to_string(p.type)};
  }
  return {engine::to_string(r.build_status), "the batchspec build did not succeed"};
}

}  // namespace kiln::app
