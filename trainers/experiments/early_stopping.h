// `kiln early-stopping`: the author's own CIFAR ResNet-18
// (layers/models.h: CifarResNet18, not the torchvision-style model of the other experiments) on
// CIFAR-10 with a validation split, Adam 1e-3, batch 32, 51 epochs. Default protocol: real early stopping
// (lowest validation loss, --patience, --min-delta, best weights restored). --protocol seed: the tutorial's
// rule (save the first epoch with validation loss < 1.0, never stop).
#pragma once

#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

struct EarlyStoppingOptions {
  CommonOptions common;
  int64_t patience = 10;
  double min_delta = 0.0;
  double threshold = 1.0;     // the tutorial's early_stopping_loss
  double val_fraction = 0.2;  // of the training split held out for validation
};

EarlyStoppingOptions early_stopping_defaults();
ExperimentResult run_early_stopping(const EarlyStoppingOptions& options);

}  // namespace kiln
