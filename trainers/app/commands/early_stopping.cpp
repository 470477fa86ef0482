// `kiln early-stopping`: its flags and defaults (the experiment itself:
// trainers/experiments/early_stopping.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/early_stopping.h"

namespace kiln {

void add_early_stopping_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "early-stopping",
      "the author's CIFAR ResNet-18 (3x3 stem, no max-pool, AvgPool2d(4), Linear(512, 10)) "
      "with a validation split: kiln's early stopping (default) or the tutorial's "
      "first-below-1.0 rule (--protocol seed)");
  auto opts = std::make_shared<EarlyStoppingOptions>(early_stopping_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->add_option("--patience", opts->patience,
                  "epochs without improvement before stopping (default protocol)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--min-delta", opts->min_delta,
                  "smallest decrease of validation loss that counts as improvement")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--threshold", opts->threshold, "the tutorial's early_stopping_loss (--protocol seed)")
      ->capture_default_str();
  cmd->add_option("--val-fraction", opts->val_fraction,
                  "fraction of the training data held out for validation")
      ->check(CLI::Range(0.01, 0.9))
      ->capture_default_str();
  cmd->callback([opts] { run_early_stopping(*opts); });
}

}  // namespace kiln
