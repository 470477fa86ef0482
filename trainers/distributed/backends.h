// The backends behind ProcessGroup (process_group.h), for its own sources only: each is
// compiled only when its library was found (KILN_HAS_MPI, KILN_HAS_NCCL).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "trainers/distributed/process_group.h"

namespace kiln::dist_detail {

// Polls with a growing pause: the first checks are back to back (a collective of a small
// model finishes in microseconds), later ones sleep up to a millisecond, so a rank waiting
// for a slower one leaves the cores to it (ranks may share a machine's cores).
class Deadline {
 public:
  explicit Deadline(double seconds)
      : end_(std::chrono::steady_clock::now() +
             std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                 std::chrono::duration<double>(seconds))) {}
  bool passed() const { return std::chrono::steady_clock::now() > end_; }
  void pause() {
    if (++polls_ < 2000) return;
    pause_us_ = pause_us_ < 1000 ? pause_us_ + 10 : 1000;
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us_));
  }

 private:
  std::chrono::steady_clock::time_point end_;
  int polls_ = 0;
  int pause_us_ = 0;
};

// "all_reduce of 1000 float32 (sum) on rank 1 of 2 (mpi) did not finish within 300 s ...".
std::string timeout_message(const std::string& what, const ProcessGroup& group, double seconds);

#if KILN_HAS_MPI
// Initialises MPI (once per process) and checks it agrees with the launcher's environment.
std::unique_ptr<ProcessGroup> make_mpi_process_group(const LaunchEnv& env, double timeout_seconds);
// MPI_Finalize, or MPI_Abort when !success or a collective of `group` failed.
void finalize_mpi_process_group(ProcessGroup& group, bool success);
#endif

#if KILN_HAS_NCCL
std::unique_ptr<ProcessGroup> make_nccl_process_group(ProcessGroup& host, Device device,
                                                      double timeout_seconds);
#endif

}  // namespace kiln::dist_detail
