// `kiln weighted-sampling`: an ImageFolder with two imbalanced
// classes (the tutorial's 14 tigers and 4 lions), images resized to 16x16; batches of 6 for 3
// epochs from WeightedRandomSampler(1/count weights, num_samples = len, replacement) versus a
// plain shuffled loader, printed like the tutorial, plus the class counts each draws over many
// epochs and a bar chart. Without --data-dir it writes its own folder (14 + 4 Fashion-MNIST
// images of two classes). --protocol seed uses the tutorial's make_weights (weights listed
// class by class: right only for class-sorted data) instead of 1/count[label[i]].
#pragma once

#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

struct WeightedSamplingOptions {
  CommonOptions common;
  int64_t image_size = 16;
  int64_t count_epochs = 1000;  // epochs over which class counts are tallied
};

WeightedSamplingOptions weighted_sampling_defaults();
ExperimentResult run_weighted_sampling(const WeightedSamplingOptions& options);

}  // namespace kiln
