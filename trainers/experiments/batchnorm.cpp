// `kiln batchnorm` (see batchnorm.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/batchnorm.h"

namespace kiln {

BatchNormOptions batchnorm_defaults() { return {}; }

ExperimentResult run_batchnorm(const BatchNormOptions&) { KILN_FAIL("kiln batchnorm is not implemented yet"); }

void add_batchnorm_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("batchnorm", "ResNet-18 with and without batch normalisation");
  auto opts = std::make_shared<BatchNormOptions>(batchnorm_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_batchnorm(*opts); });
}

}  // namespace kiln
