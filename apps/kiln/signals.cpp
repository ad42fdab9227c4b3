#include "signals.h"

#include <signal.h>

namespace kiln::app {
namespace {

exec::CancelToken* g_cancel = nullptr;

void on_signal(int) {
  if (g_cancel) g_cancel->cancel();
}

}  // namespace

void install_signal_handlers(exec::CancelToken& token) {
  g_cancel = &token;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace kiln::app
