// What a training run carries through fit() and the experiments: the device, the output
// directory, which protocol runs, the progress bar, and Ctrl-C handling (the run stops at the
// next batch boundary; the last checkpoint and the log, written atomically, stay intact).
// The program builds it from its flags (trainers/experiments/common_options.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/device.h"
#include "core/error.h"
#include "trainers/progress.h"

namespace kiln {

struct RunContext {
  Device device;
  std::string out_dir;
  // The tutorial's code as written, bugs included (--protocol seed), instead of kiln's
  // corrected protocol.
  bool tutorial_protocol = false;
  ProgressBar progress;
  std::string path(const std::string& file) const { return out_dir + "/" + file; }
};

// Makes SIGINT/SIGTERM set the flag interrupted() reads instead of ending the process.
void install_interrupt_handler();
// True after SIGINT/SIGTERM; trainers check it between batches and epochs.
bool interrupted();
// Throws the "interrupted" error when interrupted() (the CLI exits 130 on it).
void check_interrupted();

struct Interrupted : Error {
  Interrupted() : Error("interrupted; the last checkpoint and the log are intact") {}
};

}  // namespace kiln
