// Training checkpoints: one safetensors file holding the model ("model.*"), the optimizer
// ("optim.*") and, as JSON metadata, everything else needed to continue exactly where the
// run stopped: epochs completed, the random generator's (seed, offset), the model-selection
// state and the metric history. Saving is atomic (temporary file, fsync, rename), so a crash
// during a save leaves the previous checkpoint intact.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "layers/module.h"
#include "trainers/optim.h"

namespace kiln {

struct TrainingState {
  int64_t epoch = 0;  // epochs completed
  uint64_t seed = 0;  // the default generator after `epoch` epochs
  uint64_t rng_offset = 0;
  double best_metric = std::numeric_limits<double>::infinity();
  int64_t best_epoch = 0;
  int64_t bad_epochs = 0;
  std::vector<std::vector<double>> history;  // CSV rows so far
  std::map<std::string, double> scalars;     // experiment-specific values
};

// `model_id` names the architecture (e.g. "ResNet18(in=3, classes=10)"); loading checks it.
void save_checkpoint(const std::string& path, const std::string& model_id, const Module& model,
                     const Optimizer* optimizer, const TrainingState& state);
TrainingState load_checkpoint(const std::string& path, const std::string& model_id, Module& model,
                              Optimizer* optimizer);

}  // namespace kiln
