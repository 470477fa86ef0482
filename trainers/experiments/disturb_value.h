// `kiln disturb-value`: the tutorial's Regressor on the Boston
// housing table (13 features -> MEDV), features and target min-max scaled to [0, 1], batch 32,
// MSE, Adam lr 1e-3 weight_decay 1e-7, 400 epochs; trained with clean targets and then with
// DisturbValue. Prints the tutorial's one-batch demonstration (targets before and after the
// noise) first. Default protocol: scaling fitted on an 80:20 training split, both runs from the
// same fresh initialisation, exactly round(alpha * N) samples of each batch get N(0, sigma^2)
// noise. --protocol seed: the tutorial's code and the author's data preparation: scaling fitted
// on the whole table, then a 50:50 split; one Regressor and one Adam, so the noisy run continues
// from the clean run; its noise_generator (std 1e-8, int(N*(1-alpha)) zeroed draws WITH
// replacement). Reports train-loss curves and test RMSE in the target's original units ($1000s).
#pragma once

#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

// Debian's python3-sklearn ships the Boston housing table.
inline constexpr const char* kSklearnBostonTable =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv";

struct DisturbValueOptions {
  CommonOptions common;
  std::string csv;          // the table; default: scikit-learn's copy (Debian's python3-sklearn)
  std::string target = "";  // target column (default: the last column)
  double alpha = 0.3;
  double sigma = 0.05;  // noise std on the [0, 1]-scaled target (default protocol)
  double weight_decay = 1e-7;
  double test_fraction = 0.0;  // 0: the protocol's (0.2 by default, 0.5 with --protocol seed)
};

DisturbValueOptions disturb_value_defaults();
ExperimentResult run_disturb_value(const DisturbValueOptions& options);

// The --protocol seed note on the tutorial's noise_generator for batches of `batch_size`: how
// many indices it zeroes and the share of a full batch that keeps its noise, (1 - 1/b)^draws.
std::string disturb_value_tutorial_noise_note(int64_t batch_size, double alpha);

}  // namespace kiln
