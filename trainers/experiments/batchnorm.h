// `kiln batchnorm` (an experiment the tutorial only describes): the same
// ResNet-18 trained with and without BatchNorm2d (every norm layer replaced by identity),
// same data, optimiser and seed; train-loss curves of both on one plot and test accuracy.
#pragma once

#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

// Why --protocol seed changes nothing for this command (its help and its report say so).
inline constexpr const char* kBatchNormProtocolUnchanged =
    "the tutorial describes batch normalisation but has no code to reproduce";

struct BatchNormOptions {
  CommonOptions common;
};

BatchNormOptions batchnorm_defaults();
ExperimentResult run_batchnorm(const BatchNormOptions& options);

}  // namespace kiln
