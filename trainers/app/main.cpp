// The `kiln` command-line program: parses the subcommand and its flags, runs it, and turns
// every error into one line on stderr and a non-zero exit status.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "core/cpu_runtime.h"
#include "core/error.h"
#include "trainers/app/commands.h"
#include "trainers/distributed/process_group.h"
#include "trainers/run_context.h"

int main(int argc, char** argv) {
  kiln::tune_cpu_runtime(argv);
  CLI::App app{
      "kiln: the experiments of the tutorial, in C++ and CUDA.\n"
      "Run `kiln <command> --help` for a command's flags and their defaults."};
  app.name("kiln");
  app.require_subcommand(1);
  kiln::register_commands(app);
  try {
    // The experiments do not shard their data or average gradients yet: several processes
    // would each train on everything and write the same files.
    const kiln::LaunchEnv launch = kiln::launch_env();
    KILN_CHECK(launch.world_size == 1, "launched as ", launch.world_size, " processes (", launch.variable,
               "=", launch.world_size,
               ") but the experiments do not train data-parallel yet; run one process");
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kiln: error: %s (see kiln --help)\n", e.what());
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  } catch (const kiln::Interrupted& e) {
    std::fprintf(stderr, "kiln: %s\n", e.what());
    return 130;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "kiln: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
