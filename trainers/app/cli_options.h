// The flags the `kiln` commands share, and the help texts that several commands word alike.
// The options they fill are plain structs of the experiments (trainers/experiments/); only
// the program knows about CLI11.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "trainers/experiments/common_options.h"

namespace kiln {

// Help text of --no-graph (every training command and `reproduce`).
inline constexpr const char* kNoGraphHelp =
    "on CUDA, run every training and validation step eagerly instead of replaying a captured CUDA graph";

// Adds the shared flags to a subcommand. `image_data` adds --dataset/--data-dir.
void add_common_options(CLI::App& cmd, CommonOptions& o, bool image_data);

// Rewrites the --resume help of a command that trains several runs into one directory.
void describe_multi_run_resume(CLI::App& cmd);

// For a command whose tutorial code has nothing that --protocol seed could reproduce
// differently: `why` says so in the command's --protocol help.
void describe_protocol_unchanged(CLI::App& cmd, const std::string& why);

}  // namespace kiln
