// Runs the engine against fakes: no processes, no disk (inline buildspec, in-place source).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "engine/fake_executor.h"
#include "engine/fake_uploader.h"

namespace kiln::testing {

class EngineTest : public ::testing::Test {
 protected:
  FakeExecutor executor;
  exec::CancelToken build_cancel = exec::CancelToken::create().value();  // the build's stop
  FakeUploader uploader;
  logs::MemorySink log;
  FakeClock clock;
  secrets::NullSecretResolver secrets;
  secrets::SecretResolver* resolver = &secrets;  // tests with secrets point it elsewhere
  engine::BuildRequest request;
  std::vector<std::string> published_phases;
  source::SourceFetcher* sources = nullptr;  // tests of sources point these at fakes
  cache::BuildCache* build_cache = nullptr;

  EngineTest() {
    request.identity.project = "demo";
    request.identity.uuid = "11111111-2222-3333-4444-555555555555";
    request.identity.initiator = "tester";
    request.identity.image = "kiln/host";
    request.source.type = "LOCAL";
    request.source.location = "/nonexistent/demo";
    request.build_root = "/nonexistent/build";
    request.artifacts_dir = "/nonexistent/artifacts";
    request.in_place = true;
    executor.clock = &clock;
  }

  engine::BuildRecord run(const std::string& buildspec) {
    request.buildspec_text = buildspec;
    engine::EngineDeps deps{executor,
                            uploader,
                            log,
                            clock,
                            *resolver,
                            [this](const engine::BuildRecord& r) {
                              published_phases.push_back(engine::to_string(r.current_phase));
                            },
                            sources,
                            build_cache};
    engine::Engine e(deps);
    return e.run(request, build_cancel);
  }

  // "PHASE:STATUS" for every phase with a status, in order, e.g. "BUILD:FAILED".
  static std::vector<std::string> phase_list(const engine::BuildRecord& r) {
    std::vector<std::string> out;
    for (const auto& p : r.phases) {
      std::string s = engine::to_string(p.type);
      if (p.type != engine::PhaseType::kCompleted && p.status)
        s += std::string(":") + engine::to_string(*p.status);
      out.push_back(s);
    }
    return out;
  }

  static const engine::PhaseRecord& phase(const engine::BuildRecord& r, engine::PhaseType t) {
    const auto* p = r.phase(t);
    EXPECT_NE(p, nullptr) << engine::to_string(t);
    return *p;
  }
};

}  // namespace kiln::testing
