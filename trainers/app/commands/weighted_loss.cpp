// `kiln weighted-loss`: its flags and defaults (the experiment itself:
// trainers/experiments/weighted_loss.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/weighted_loss.h"

namespace kiln {

void add_weighted_loss_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "weighted-loss",
      "the torchvision-style ResNet-18 (as disturb-label) with plain vs class-weighted "
      "cross-entropy (w_c = 1 - n_c/sum(n)) on a training set drawn with the tutorial's "
      "class counts [40, 45, 30, 62, 70, 153, 395, 46, 75, 194]; --limit scales the counts "
      "to about that many samples");
  auto opts = std::make_shared<WeightedLossOptions>(weighted_loss_defaults());
  add_common_options(*cmd, opts->common, true);
  describe_protocol_unchanged(*cmd, kWeightedLossProtocolUnchanged);
  describe_multi_run_resume(*cmd);
  cmd->get_option("--limit")->description(
      "scale the tutorial's class counts down to about N training samples in all, at least 1 per class (0 = "
      "the "
      "exact counts); the draw is always from the whole training set");
  cmd->callback([opts] { run_weighted_loss(*opts); });
}

}  // namespace kiln
