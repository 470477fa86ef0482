// `kiln disturb-value`: its flags and defaults (the experiment itself:
// trainers/experiments/disturb_value.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/disturb_value.h"

namespace kiln {

void add_disturb_value_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "disturb-value",
      "the tutorial's Regressor (13 -> 50 -> 1) on the Boston table, clean targets vs DisturbValue. Default "
      "protocol: min-max scaling fitted on an 80:20 training split, both runs from one fresh initialisation, "
      "exactly "
      "round(alpha*N) samples per batch get N(0, sigma^2) noise. --protocol seed: the tutorial's code, i.e. "
      "min-max "
      "scaling of the whole table then a 50:50 split, the noisy run continuing from the clean run's weights "
      "and "
      "Adam state, and its noise_generator (std 1e-8, zeroed draws with replacement)");
  auto opts = std::make_shared<DisturbValueOptions>(disturb_value_defaults());
  add_common_options(*cmd, opts->common, false);
  // Two runs of seconds: there is nothing worth resuming.
  cmd->remove_option(cmd->get_option("--resume"));
  cmd->add_option("--csv", opts->csv,
                  "the table (header row of column names, or scikit-learn's layout); default: " +
                      std::string(kSklearnBostonTable) + " (Debian's python3-sklearn)");
  cmd->add_option("--target", opts->target, "target column (default: the last column)");
  cmd->add_option("--alpha", opts->alpha, "fraction of each batch whose targets get noise")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option(
         "--sigma", opts->sigma,
         "noise std on the [0, 1]-scaled target (default protocol; --protocol seed uses the tutorial's 1e-8)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--weight-decay", opts->weight_decay, "Adam's weight decay (L2)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option(
         "--test-fraction", opts->test_fraction,
         "fraction of the rows held out for the test RMSE; 0: the protocol's, 0.2 by default, 0.5 with "
         "--protocol seed (the author's 50:50 split)")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(s, v) || !(v == 0 || (v >= 0.01 && v <= 0.9)))
              return "must be 0 or a number in [0.01, 0.9], got " + s;
            return "";
          },
          "0 or in [0.01, 0.9]"))
      ->capture_default_str();
  cmd->callback([opts] { run_disturb_value(*opts); });
}

}  // namespace kiln
