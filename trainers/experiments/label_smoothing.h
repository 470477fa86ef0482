// `kiln label-smoothing`: ResNet-18 trained with plain
// cross-entropy and with label smoothing, same initialisation, then test accuracy and the
// mean confidence (max softmax) of each. --convention tutorial (default): the tutorial's
// LabelSmoothingLoss, 1 - a on the true class and a/(K-1) elsewhere; --convention pytorch:
// CrossEntropyLoss(label_smoothing=a), (1 - a) y + a/K.
#pragma once

#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

// Why --protocol seed changes nothing for this command (its help and its report say so).
inline constexpr const char* kLabelSmoothingProtocolUnchanged =
    "the tutorial only prints the K=3 targets of its LabelSmoothingLoss and trains nothing with it; its loss "
    "is "
    "--convention tutorial, the default";

struct LabelSmoothingOptions {
  CommonOptions common;
  double smoothing = 0.1;
  std::string convention = "tutorial";  // or "pytorch"
};

LabelSmoothingOptions label_smoothing_defaults();
ExperimentResult run_label_smoothing(const LabelSmoothingOptions& options);

}  // namespace kiln
