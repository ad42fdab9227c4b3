// Where `kiln server` keeps things in its data folder (docs/server.md). The server never writes
// outside it. Project names and build uuids are validated before they reach a path.
#pragma once

#include <filesystem>
#include <string>

namespace kiln::api {

struct DataLayout {
  std::filesystem::path root;

  std::filesystem::path database() const { return root / "kiln.db"; }
  // The SecretStore's folder: parameters, secrets and source credentials, encrypted at rest.
  std::filesystem::path secrets_dir() const { return root / "secrets"; }
  std::filesystem::path log_path(const std::string& project, const std::string& uuid) const {
    return root / "logs" / project / (uuid + ".log");
  }
  // The build's private folder (workspace and executor scratch); removed when it ends.
  std::filesystem::path build_root(const std::string& uuid) const { return root / "builds" / uuid; }
  std::filesystem::path request_file(const std::string& uuid) const {
    return root / "builds" / (uuid + ".request.json");
  }
  // A build's reports as its worker hands them over (server/report_ingest.h), out of the build's
  // sight; removed once taken in.
  std::filesystem::path reports_dir(const std::string& uuid) const {
    return root / "reports" / uuid;
  }
  // A build batch's private folder (server/batch_coordinator.h): with combined artifacts, the
  // members' primary artifacts, one folder per identifier, until COMBINE_ARTIFACTS; removed
  // when the batch ends.
  std::filesystem::path batch_dir(const std::string& uuid) const { return root / "batches" / uuid; }
  // LOCAL caches: custom-cache folders and git mirrors, per project (docs/cache.md).
  std::filesystem::path cache_dir() const { return root / "cache"; }
  std::filesystem::path artifacts_dir(const std::string& project, const std::string& uuid) const {
    return root / "artifacts" / project / uuid;
  }
};

}  // namespace kiln::api
