// `kiln weighted-loss` (see weighted_loss.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/weighted_loss.h"

namespace kiln {

WeightedLossOptions weighted_loss_defaults() { return {}; }

ExperimentResult run_weighted_loss(const WeightedLossOptions&) { KILN_FAIL("kiln weighted-loss is not implemented yet"); }

void add_weighted_loss_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("weighted-loss", "plain vs class-weighted cross-entropy on an imbalanced training set");
  auto opts = std::make_shared<WeightedLossOptions>(weighted_loss_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_weighted_loss(*opts); });
}

}  // namespace kiln
