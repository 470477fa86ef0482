// `kiln disturb-value` (see disturb_value.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/disturb_value.h"

namespace kiln {

DisturbValueOptions disturb_value_defaults() { return {}; }

ExperimentResult run_disturb_value(const DisturbValueOptions&) { KILN_FAIL("kiln disturb-value is not implemented yet"); }

void add_disturb_value_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("disturb-value", "the Regressor on the Boston table with clean vs DisturbValue targets");
  auto opts = std::make_shared<DisturbValueOptions>(disturb_value_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_disturb_value(*opts); });
}

}  // namespace kiln
