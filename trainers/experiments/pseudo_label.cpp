// `kiln pseudo-label` (see pseudo_label.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/pseudo_label.h"

namespace kiln {

PseudoLabelOptions pseudo_label_defaults() { return {}; }

std::vector<ExperimentResult> run_pseudo_label(const PseudoLabelOptions&) {
  KILN_FAIL("kiln pseudo-label is not implemented yet");
}

void add_pseudo_label_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("pseudo-label", "semi-supervised MNIST: supervised baseline, online and threshold pseudo-labels");
  auto opts = std::make_shared<PseudoLabelOptions>(pseudo_label_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_pseudo_label(*opts); });
}

}  // namespace kiln
