// `kiln label-smoothing`: ResNet-18 trained with plain
// cross-entropy and with label smoothing, same initialisation, then test accuracy and the
// mean confidence (max softmax) of each. --convention source (default): the tutorial's
// LabelSmoothingLoss, 1 - a on the true class and a/(K-1) elsewhere; --convention pytorch:
// CrossEntropyLoss(label_smoothing=a), (1 - a) y + a/K.
#pragma once

#include <CLI/CLI.hpp>

#include "trainers/app/common_options.h"
#include "trainers/app/experiment.h"

namespace kiln {

struct LabelSmoothingOptions {
  CommonOptions common;
  double smoothing = 0.1;
  std::string convention = "source";  // or "pytorch"
};

LabelSmoothingOptions label_smoothing_defaults();
ExperimentResult run_label_smoothing(const LabelSmoothingOptions& options);
void add_label_smoothing_command(CLI::App& app);

}  // namespace kiln
