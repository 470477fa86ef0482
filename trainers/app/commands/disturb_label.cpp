// `kiln disturb-label`: its flags and defaults (the experiment itself:
// trainers/experiments/disturb_label.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/disturb_label.h"

namespace kiln {

void add_disturb_label_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "disturb-label",
      "the torchvision-style ResNet-18 (3x3 stem, max-pool kept, Dropout2d(0.5) + "
      "Linear(512, 10)) with true labels vs DisturbLabel(alpha=30%): default, both runs from "
      "the same initialisation in train mode; --protocol seed, the second run continues "
      "from the first's weights and Adam state in eval mode (batch norm frozen, dropout "
      "off), as the tutorial's code did");
  auto opts = std::make_shared<DisturbLabelOptions>(disturb_label_defaults());
  add_common_options(*cmd, opts->common, true);
  describe_multi_run_resume(*cmd);
  cmd->add_option("--alpha", opts->alpha,
                  "DisturbLabel rate in percent: each label is replaced with probability "
                  "alpha/100 by a uniformly drawn class")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->callback([opts] { run_disturb_label(*opts); });
}

}  // namespace kiln
