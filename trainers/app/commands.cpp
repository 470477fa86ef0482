// The `kiln` subcommands, in the order `kiln --help` lists them (the tutorial's order).
#include "trainers/app/commands.h"

#include "trainers/app/experiments/batchnorm.h"
#include "trainers/app/experiments/confusion_matrix.h"
#include "trainers/app/experiments/disturb_label.h"
#include "trainers/app/experiments/disturb_value.h"
#include "trainers/app/experiments/early_stopping.h"
#include "trainers/app/experiments/label_smoothing.h"
#include "trainers/app/experiments/pseudo_label.h"
#include "trainers/app/experiments/reproduce.h"
#include "trainers/app/experiments/weighted_loss.h"
#include "trainers/app/experiments/weighted_sampling.h"

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
