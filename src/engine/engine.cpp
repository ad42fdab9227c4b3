#include "engine/engine.h"

#include "engine/build_run.h"

namespace kiln::engine {

BuildRecord Engine::run(const BuildRequest& req, const exec::CancelToken& cancel) {
  BuildRun run(deps_, req, cancel);
  return run.execute();
}

}  // namespace kiln::engine
