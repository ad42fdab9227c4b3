// Turning SIGINT, SIGTERM and SIGHUP into a CancelToken, for the commands that run a build.
#pragma once

#include "exec/executor.h"

namespace kiln::app {

// The handlers only write to the token's pipe (async-signal-safe). SIGPIPE is ignored: a closed
// terminal or server pipe must not kill the build before its record is written. The token must
// outlive the process's handling of signals.
void install_signal_handlers(exec::CancelToken& token);

}  // namespace kiln::app
