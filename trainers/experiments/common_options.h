// Options every experiment shares (--dataset, --device, --epochs, ...; the flags themselves are
// the program's: trainers/app/cli_options.h) and the RunContext
// built from them: the process group (data-parallel under mpirun), the resolved device (a
// process's own GPU when there are several), the output directory (created and checked
// writable by rank 0, the only rank that writes), the seeded generator and the Ctrl-C handler.
#pragma once

#include <cstdint>
#include <string>

#include "trainers/run_context.h"

namespace kiln {

struct CommonOptions {
  std::string dataset = "auto";
  std::string data_dir;
  std::string device = "auto";
  int64_t epochs = 1;
  int64_t batch_size = 32;
  double lr = 1e-3;
  uint64_t seed = 0;
  std::string out;
  std::string protocol = "default";  // or "seed": RunContext::tutorial_protocol
  int64_t limit = 0;                 // first N training samples (0 = all)
  int64_t test_limit = 0;            // first N test samples (0 = all)
  std::string resume;
  bool quiet = false;
  bool detect_anomaly = false;
  double clip_grad = 0.0;
  bool skip_nonfinite = false;  // skip (and count) steps whose loss is NaN/Inf instead of stopping
  bool no_graph = false;  // run every training and validation step eagerly on CUDA (trainers/step_graph.h)
};
// Validates the options, starts the process group, resolves the device ("auto": CUDA when
// available), creates the output directory, seeds the default generator (the same seed on
// every rank: they build the same model and split the data alike) and installs the Ctrl-C
// handler.
RunContext make_run_context(const CommonOptions& o, const std::string& command);

}  // namespace kiln
