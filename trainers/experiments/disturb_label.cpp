// `kiln disturb-label` (see disturb_label.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/disturb_label.h"

namespace kiln {

DisturbLabelOptions disturb_label_defaults() { return {}; }

ExperimentResult run_disturb_label(const DisturbLabelOptions&) { KILN_FAIL("kiln disturb-label is not implemented yet"); }

void add_disturb_label_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("disturb-label", "ResNet-18 with true labels vs DisturbLabel(alpha=30%)");
  auto opts = std::make_shared<DisturbLabelOptions>(disturb_label_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_disturb_label(*opts); });
}

}  // namespace kiln
