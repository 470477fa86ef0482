// The `kiln` subcommands, in the order `kiln --help` lists them.
#include "trainers/commands.h"

#include "trainers/experiments/early_stopping.h"

namespace kiln {

void register_commands(CLI::App& app) {
  add_early_stopping_command(app);
}

}  // namespace kiln
