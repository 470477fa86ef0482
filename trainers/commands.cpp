// The `kiln` subcommands, in the order `kiln --help` lists them (the tutorial's order).
#include "trainers/commands.h"

#include "trainers/experiments/batchnorm.h"
#include "trainers/experiments/confusion_matrix.h"
#include "trainers/experiments/disturb_label.h"
#include "trainers/experiments/disturb_value.h"
#include "trainers/experiments/early_stopping.h"
#include "trainers/experiments/label_smoothing.h"
#include "trainers/experiments/pseudo_label.h"
#include "trainers/experiments/reproduce.h"
#include "trainers/experiments/weighted_loss.h"
#include "trainers/experiments/weighted_sampling.h"

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
