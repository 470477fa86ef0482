// `kiln confusion-matrix` (see confusion_matrix.h). Placeholder until the experiment is implemented.
#include "trainers/experiments/confusion_matrix.h"

namespace kiln {

ConfusionMatrixOptions confusion_matrix_defaults() { return {}; }

ExperimentResult run_confusion_matrix(const ConfusionMatrixOptions&) { KILN_FAIL("kiln confusion-matrix is not implemented yet"); }

void add_confusion_matrix_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("confusion-matrix", "the tutorial's confusion-matrix example as text and PNG");
  auto opts = std::make_shared<ConfusionMatrixOptions>(confusion_matrix_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->callback([opts] { run_confusion_matrix(*opts); });
}

}  // namespace kiln
