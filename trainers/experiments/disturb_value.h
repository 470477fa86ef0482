// `kiln disturb-value` (EXPERIMENTS.md section 5): the tutorial's Regressor on the Boston
// housing table (13 features -> MEDV), features and target min-max scaled to [0, 1] with
// statistics of the training split only, batch 32, MSE, Adam lr 1e-3 weight_decay 1e-7, 400
// epochs; trained with clean targets and with DisturbValue. Default protocol: exactly
// round(alpha * N) samples of each batch get N(0, sigma^2) noise. --protocol seed: the
// tutorial's noise_generator (std 1e-8, int(N*(1-alpha)) zeroed draws WITH replacement).
// Reports train-loss curves and test RMSE in the target's original units ($1000s).
#pragma once

#include <CLI/CLI.hpp>

#include "trainers/experiment.h"
#include "trainers/run_context.h"

namespace kiln {

struct DisturbValueOptions {
  CommonOptions common;
  std::string csv;            // the table; default: scikit-learn's copy, else ../shared/data
  std::string target = "";    // target column (default: the last column)
  double alpha = 0.3;
  double sigma = 0.05;        // noise std on the [0, 1]-scaled target (default protocol)
  double weight_decay = 1e-7;
  double test_fraction = 0.2;
};

DisturbValueOptions disturb_value_defaults();
ExperimentResult run_disturb_value(const DisturbValueOptions& options);
void add_disturb_value_command(CLI::App& app);

}  // namespace kiln
