// The explicit list of `kiln` subcommands (no static registration: this list is the
// registry). Each command's flags live in trainers/app/commands/<name>.cpp and the experiment
// it runs in trainers/experiments/<name>.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace kiln {

// Every subcommand, in the order `kiln --help` lists them (the tutorial's order).
void register_commands(CLI::App& app);

void add_early_stopping_command(CLI::App& app);
void add_batchnorm_command(CLI::App& app);
void add_disturb_label_command(CLI::App& app);
void add_disturb_value_command(CLI::App& app);
void add_label_smoothing_command(CLI::App& app);
void add_weighted_sampling_command(CLI::App& app);
void add_weighted_loss_command(CLI::App& app);
void add_confusion_matrix_command(CLI::App& app);
void add_pseudo_label_command(CLI::App& app);
void add_reproduce_command(CLI::App& app);

}  // namespace kiln
