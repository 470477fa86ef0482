// `kiln weighted-loss`: CrossEntropyLoss(weight=w) with
// w_c = 1 - n_c / sum(n) for the tutorial's class counts n = [40, 45, 30, 62, 70, 153, 395,
// 46, 75, 194]. A training set with exactly those counts per class is drawn from the data;
// ResNet-18 is trained with plain and with weighted cross-entropy from the same
// initialisation, and per-class test accuracy (recall) and confusion matrices are compared.
#pragma once

#include <CLI/CLI.hpp>

#include "trainers/app/common_options.h"
#include "trainers/app/experiment.h"

namespace kiln {

struct WeightedLossOptions {
  CommonOptions common;
};

WeightedLossOptions weighted_loss_defaults();
ExperimentResult run_weighted_loss(const WeightedLossOptions& options);
void add_weighted_loss_command(CLI::App& app);

}  // namespace kiln
