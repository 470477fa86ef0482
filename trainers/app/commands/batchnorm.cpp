// `kiln batchnorm`: its flags and defaults (the experiment itself: trainers/experiments/batchnorm.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/batchnorm.h"

namespace kiln {

void add_batchnorm_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("batchnorm",
                         "the torchvision-style ResNet-18 (as disturb-label) with and without batch "
                         "normalisation (same seed, same data order): both loss curves and test accuracies "
                         "(the tutorial only describes it)");
  auto opts = std::make_shared<BatchNormOptions>(batchnorm_defaults());
  add_common_options(*cmd, opts->common, true);
  describe_protocol_unchanged(*cmd, kBatchNormProtocolUnchanged);
  describe_multi_run_resume(*cmd);
  cmd->callback([opts] { run_batchnorm(*opts); });
}

}  // namespace kiln
