// The explicit list of `kiln` subcommands (no static registration: this list is the
// registry). Each experiment lives in trainers/app/experiments/<name>.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace kiln {

void register_commands(CLI::App& app);

}  // namespace kiln
