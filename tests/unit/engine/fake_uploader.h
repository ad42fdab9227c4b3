// An ArtifactUploader that records what it was asked and returns a configured result.
#pragma once

#include "artifacts/uploader.h"

namespace kiln::testing {

class FakeUploader final : public artifacts::ArtifactUploader {
 public:
  artifacts::UploadResult result;
  int calls = 0;
  std::string expanded_name;

  Result<artifacts::UploadResult> upload(const artifacts::UploadRequest& req,
                                         logs::LogSink& log) override {
    ++calls;
    if (req.artifacts->primary.name) {
      auto n = req.expand(*req.artifacts->primary.name);
      if (n) expanded_name = *n;
    }
    log.agent_line("Expanding base directory path: .");
    return result;
  }
};

}  // namespace kiln::testing
