// `kiln confusion-matrix`: the tutorial's example,
// actual = [1,1,1,0,0,0,0,0,2,2,2,2,2,2,2,2], prediction = [1,2,2,0,2,2,1,2,0,1,0,2,2,2,2,2],
// printed (rows = actual, columns = predicted) and drawn as confusion_matrix.png. Optional
// --actual/--predicted lists replace the example.
#pragma once

#include <vector>

#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

// A heatmap with more classes than this is unreadable, and the matrix grows as its square.
inline constexpr int64_t kConfusionMatrixMaxClasses = 100;

struct ConfusionMatrixOptions {
  CommonOptions common;
  std::vector<int64_t> actual = {1, 1, 1, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2};
  std::vector<int64_t> predicted = {1, 2, 2, 0, 2, 2, 1, 2, 0, 1, 0, 2, 2, 2, 2, 2};
};

ConfusionMatrixOptions confusion_matrix_defaults();
ExperimentResult run_confusion_matrix(const ConfusionMatrixOptions& options);

}  // namespace kiln
