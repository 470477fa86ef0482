// The `kiln` command-line program: parses the subcommand and its flags, runs it, and turns
// every error into one line on stderr and a non-zero exit status. Under mpirun every process
// runs the same command as one rank of a data-parallel run (trainers/distributed/); only rank
// 0 prints, and a rank's error ends all of them.
#include <cstdio>
#include <exception>
#include <string>

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
  // Every rank parses the same flags, so a flag error or --help happens on all of them alike and
  // they end together; an error during a run may be one rank's alone, and then the others,
  // which may be waiting for it in a collective, are ended too (finalize_process_group(false)).
  // Rank 0 alone reports flag errors; any rank reports its own run errors, naming itself.
  bool root = true;
  auto who = [] {
    kiln::ProcessGroup& group = kiln::process_group();
    return group.world_size() > 1 ? group.describe() + ": " : std::string();
  };
  try {
    root = kiln::init_process_group().is_root();
    if (!root && !std::freopen("/dev/null", "w", stdout)) KILN_FAIL("cannot silence the output of ", who());
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    kiln::finalize_process_group(true);
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    kiln::finalize_process_group(true);
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (root) std::fprintf(stderr, "kiln: error: %s (see kiln --help)\n", e.what());
    kiln::finalize_process_group(true);
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  } catch (const kiln::Interrupted& e) {
    // Every rank stops at the same point (trainers/fit.cpp agrees on it).
    if (root) std::fprintf(stderr, "kiln: %s\n", e.what());
    kiln::finalize_process_group(true);
    return 130;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "kiln: error: %s%s\n", who().c_str(), e.what());
    kiln::finalize_process_group(false);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln: internal error: %s%s\n", who().c_str(), e.what());
    kiln::finalize_process_group(false);
    return 3;
  }
  kiln::finalize_process_group(true);
  return 0;
}
