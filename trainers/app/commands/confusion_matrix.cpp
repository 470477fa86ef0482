// `kiln confusion-matrix`: its flags and defaults (the experiment itself:
// trainers/experiments/confusion_matrix.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/confusion_matrix.h"

namespace kiln {

void add_confusion_matrix_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("confusion-matrix",
                         "the tutorial's confusion-matrix example (or your own label lists) as text and "
                         "confusion_matrix.png; rows = actual, columns = predicted");
  auto opts = std::make_shared<ConfusionMatrixOptions>(confusion_matrix_defaults());
  // Nothing is trained or loaded: the output directory is the only shared flag that applies.
  cmd->add_option("--out", opts->common.out, "output directory for confusion_matrix.png")
      ->capture_default_str();
  cmd->add_option(
         "--actual", opts->actual,
         "actual labels, comma-separated (classes are 0 .. the largest label; default: the tutorial's)")
      ->delimiter(',')
      ->check(CLI::Range(int64_t(0), kConfusionMatrixMaxClasses - 1))
      ->capture_default_str();
  cmd->add_option("--predicted", opts->predicted, "predicted labels, comma-separated, one per actual label")
      ->delimiter(',')
      ->check(CLI::Range(int64_t(0), kConfusionMatrixMaxClasses - 1))
      ->capture_default_str();
  cmd->callback([opts] { run_confusion_matrix(*opts); });
}

}  // namespace kiln
