// `kiln weighted-sampling` (see weighted_sampling.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/weighted_sampling.h"

namespace kiln {

WeightedSamplingOptions weighted_sampling_defaults() { return {}; }

ExperimentResult run_weighted_sampling(const WeightedSamplingOptions&) { KILN_FAIL("kiln weighted-sampling is not implemented yet"); }

void add_weighted_sampling_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("weighted-sampling", "WeightedRandomSampler vs a shuffled loader on an imbalanced image folder");
  auto opts = std::make_shared<WeightedSamplingOptions>(weighted_sampling_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_weighted_sampling(*opts); });
}

}  // namespace kiln
