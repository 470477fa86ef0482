// Ctrl-C handling of a run (see run_context.h).
#include "trainers/run_context.h"

#include <csignal>

namespace kiln {

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }
}  // namespace

bool interrupted() { return g_interrupted != 0; }
void check_interrupted() {
  if (interrupted()) throw Interrupted();
}

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

}  // namespace kiln
