// Reports (§7) in UPLOAD_ARTIFACTS, after the artifacts (§7.5): the buildspec's report groups,
// then auto-discover. Nothing here changes the build's status (reports/collect.h).
#include "engine/build_run.h"
#include "reports/collect.h"

namespace kiln::engine {

void BuildRun::make_reports() {
  const exec::ShellState& final_state =
      spec_->version == spec::Version::k0_1 ? initial_state_ : state_;
  reports::CollectRequest r;
  r.groups = &spec_->reports;
  r.src_dir = workspace_;
  r.source_roots.push_back({initial_state_.cwd.string(), workspace_});
  for (const auto& s : req_.secondary_sources) r.source_roots.push_back(secondary_location(s));
  r.expand = [this](const std::string& t) { return expand(t); };
  // An absolute base-directory outside the sources is read as artifacts read it
  // (docs/artifacts.md "Absolute paths"), through a staging folder the build cannot see.
  r.open_environment_root = [this] { return deps_.executor.open_root(); };
  r.staging_dir = scratch_ / "reports-env";
  const RemoveOnExit remove_staging{r.staging_dir};
  r.identity = {req_.identity.project, req_.identity.region, req_.identity.account, record_.arn};
  r.mask = [this](std::string_view s) { return masking_.mask(s); };
  r.clock = &deps_.clock;
  r.discover = reports::discover_settings(final_state.env);

  ContainerLineSink sink(log_);
  std::vector<reports::CollectedReport> collected = reports::collect_reports(r, sink);
  if (!req_.reports_dir.empty()) {
    if (auto w = reports::write_report_files(collected, req_.reports_dir); !w)
      log_.line("Failed to write the build's reports: " + w.error().describe());
  }
  std::vector<reports::Report> made;
  made.reserve(collected.size());
  for (auto& c : collected) {
    record_.report_arns.push_back(c.report.arn);
    made.push_back(std::move(c.report));
  }
  if (deps_.on_reports) deps_.on_reports(made);
}

}  // namespace kiln::engine
