// What a training run carries through fit() and the experiments: the device, the output
// directory, which protocol runs, the progress bar, the processes training together, and
// Ctrl-C handling (the run stops between epochs; the last checkpoint and the log, written
// atomically, stay intact). The program builds it from its flags
// (trainers/experiments/common_options.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/device.h"
#include "core/error.h"
#include "trainers/distributed/process_group.h"
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

  // Data-parallel training (trainers/distributed/): `group` holds the processes of the run
  // and carries host memory (one process, or MPI under mpirun); `device_group` carries the
  // model's tensors: NCCL when the run has several processes on GPUs, `group` otherwise.
  // Null means one process.
  ProcessGroup* group = nullptr;
  std::shared_ptr<ProcessGroup> device_group;
  ProcessGroup& host_group() const { return group ? *group : process_group(); }
  ProcessGroup& model_group() const { return device_group ? *device_group : host_group(); }
  bool data_parallel() const { return host_group().world_size() > 1; }
  // Only rank 0 writes the log, checkpoints, plots and reports; the other ranks write nothing.
  bool writes_files() const { return host_group().is_root(); }
  // Where this rank's random numbers start, as a Philox offset relative to rank 0's (0 with
  // one process): each op takes one offset, so ranks 2^48 offsets apart never draw the same
  // numbers. fit() moves the default generator there; a generator of an experiment's own
  // (label noise) adds it too, so each rank disturbs its own batches independently.
  uint64_t rank_stream() const { return static_cast<uint64_t>(host_group().rank()) << 48; }
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
