// `kiln label-smoothing` (see label_smoothing.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/label_smoothing.h"

namespace kiln {

LabelSmoothingOptions label_smoothing_defaults() { return {}; }

ExperimentResult run_label_smoothing(const LabelSmoothingOptions&) { KILN_FAIL("kiln label-smoothing is not implemented yet"); }

void add_label_smoothing_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("label-smoothing", "ResNet-18 with plain cross-entropy vs label smoothing");
  auto opts = std::make_shared<LabelSmoothingOptions>(label_smoothing_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_label_smoothing(*opts); });
}

}  // namespace kiln
