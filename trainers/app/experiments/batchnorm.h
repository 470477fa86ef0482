// `kiln batchnorm` (an experiment the tutorial only describes): the same
// ResNet-18 trained with and without BatchNorm2d (every norm layer replaced by identity),
// same data, optimiser and seed; train-loss curves of both on one plot and test accuracy.
#pragma once

#include <CLI/CLI.hpp>

#include "trainers/app/common_options.h"
#include "trainers/app/experiment.h"

namespace kiln {

struct BatchNormOptions {
  CommonOptions common;
};

BatchNormOptions batchnorm_defaults();
ExperimentResult run_batchnorm(const BatchNormOptions& options);
void add_batchnorm_command(CLI::App& app);

}  // namespace kiln
