// The `kiln` subcommands, in the order `kiln --help` lists them (the tutorial's order).
#include "trainers/app/commands.h"

namespace kiln {

void register_commands(CLI::App& app) {
  add_early_stopping_command(app);
  add_batchnorm_command(app);
  add_disturb_label_command(app);
  add_disturb_value_command(app);
  add_label_smoothing_command(app);
  add_weighted_sampling_command(app);
  add_weighted_loss_command(app);
  add_confusion_matrix_command(app);
  add_pseudo_label_command(app);
  add_reproduce_command(app);
}

}  // namespace kiln
