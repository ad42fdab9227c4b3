// The flags of `kiln run` (docs/reference/design.md §3.1), as parsed, before they become a
// BuildRequest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "secret_sources.h"

namespace kiln::app {

struct RunOptions {
  std::string source = ".";
  std::string buildspec;
  std::string artifacts = "./kiln-artifacts";
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::string executor = "process";
  std::string image;
  std::string compute_type = "BUILD_GENERAL1_SMALL";
  std::string network;  // "" = the executor's default
  bool privileged = false;
  std::string image_dir;
  double timeout_minutes = 60;
  std::vector<std::string> secondary_sources;   // ID=DIR|URL
  std::vector<std::string> secondary_versions;  // ID=REF
  std::string source_version;
  int git_clone_depth = 0;
  bool git_submodules = false;
  std::string cache_type = "NO_CACHE";
  std::string cache_location;
  std::vector<std::string> cache_modes;
  std::string cache_dir;
  std::string project;
  std::string json;
  std::string reports_dir;  // --reports-dir: one report_file_json file per report
  std::string junit_out;    // --junit-out: every test report merged into one JUnit file
  std::string packaging = "ZIP";
  std::string workspace_mode = "auto";
  bool in_place = false;
  bool no_color = false;
  bool keep_workspace = false;
  SecretOptions secrets;

  // Batch builds (docs/batch.md "kiln run --batch").
  bool batch = false;             // --batch: run the buildspec's `batch` section
  unsigned parallel = 0;          // --parallel: member builds at once; 0 = the number of cores
  std::vector<std::string> only;  // --only: these members and what they depend on
  bool combine_artifacts = false;
  double batch_timeout_minutes = 0;  // --batch-timeout (buildBatchConfig.timeoutInMins); 0: none
  int max_batch_builds = 100;        // --max-batch-builds (restrictions.maximumBuildsAllowed)
};

// Prints the phase table that ends a `kiln run`.
struct SummaryStyle {
  bool color = false;
};

}  // namespace kiln::app
