// `kiln reproduce`: its flags and defaults (the experiment itself: trainers/experiments/reproduce.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/reproduce.h"

namespace kiln {

void add_reproduce_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "reproduce", "run every experiment and write REPORT.md (shortened for the CPU unless --full)");
  auto o = std::make_shared<ReproduceOptions>();
  cmd->add_flag("--full", o->full, "the tutorial's full protocols (hours on a CPU; minutes on a GPU)");
  cmd->add_option("--out", o->out, "output directory (REPORT.md and one folder per experiment)")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  cmd->add_option("--cifar10-dir", o->cifar10_dir, "CIFAR-10 binary batches (else Fashion-MNIST stands in)");
  cmd->add_option("--mnist-dir", o->mnist_dir, "MNIST IDX files (else Fashion-MNIST stands in)");
  cmd->add_option("--protocol", o->protocol, "default (corrected) or seed (the tutorial's code as written)")
      ->check(CLI::IsMember({"default", "seed"}))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
  cmd->add_option("--only", o->only, "run only these experiments (subcommand names)")->delimiter(',');
  cmd->add_flag("--quiet", o->quiet, "no progress bars");
  cmd->add_flag("--no-graph", o->no_graph, kNoGraphHelp);
  cmd->callback([o] { run_reproduce(*o); });
}

}  // namespace kiln
