// kiln run --batch (docs/batch.md "kiln run --batch"): the local driver of a batch build, the
// counterpart of the server's batch coordinator. Both run batch/run.h's state machine; here each
// build group's build is an Engine::run on a thread of this process:
//   1. the DOWNLOAD_SOURCE build (BuildRequest::batchspec_only) reads the batchspec;
//   2. batch::make_plan (no restrictions but --max-batch-builds; --only selects members);
//   3. ready members start, at most --parallel at once, each in its own build folder with its
//      own executor and CancelToken, so fast-fail, the batch timeout and Ctrl-C stop them;
//   4. COMBINE_ARTIFACTS with --combine-artifacts; the final table; --json.
// Each build's whole log goes to <artifacts>/logs/<identifier>.log (./kiln-artifacts/logs when
// artifacts go to S3).
#pragma once

#include "engine/engine.h"
#include "exec/executor.h"
#include "run_options.h"
#include "secrets/resolver.h"

namespace kiln::app {

struct BatchInputs {
  const RunOptions& options;
  // The batch's request as kiln run's flags make it; no build_root (each build gets its own).
  engine::BuildRequest base;
  secrets::SecretResolver& secrets;  // used by one build at a time (run_batch serialises it)
  exec::CancelToken& interrupt;      // fired by the signal handlers: stops the batch
};

// The exit status: 0 when the batch SUCCEEDED, 1 otherwise, 2 for a usage error found only
// once the batchspec is read (--only naming no task).
int run_batch(BatchInputs in);

}  // namespace kiln::app
