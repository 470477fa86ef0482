// `kiln disturb-label`: ResNet-18 on CIFAR-10, batch 32, Adam 1e-3,
// 50 epochs, trained once with true labels and once with DisturbLabel(alpha = 30%) drawn
// fresh every mini-batch, then test accuracy of both. Default protocol: both runs start
// from the SAME fresh initialisation, in train mode. --protocol seed: what the tutorial's code
// did: the second run continues from the first run's weights and Adam state (it reused the
// model object) and trains in EVAL mode (it called resnet.eval() to test run 1 and never
// resnet.train() again), so batch norm keeps run 1's running statistics and Dropout2d is off.
// Also repeats the tutorial's one-batch check (fraction of labels kept in one batch of 32).
#pragma once

#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

struct DisturbLabelOptions {
  CommonOptions common;
  double alpha = 30.0;  // percent
};

DisturbLabelOptions disturb_label_defaults();
ExperimentResult run_disturb_label(const DisturbLabelOptions& options);

}  // namespace kiln
