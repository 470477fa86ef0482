// A run in which one rank fails, for tests/scripts/dist_failure_test.sh: every rank all-reduces
// in a loop, and after three collectives the last rank either stops calling collectives
// (`hang`: it sleeps for a minute) or dies (`die`: SIGKILL). The other ranks must end with a
// clear error within the deadline, and the whole job must end, not wait for the minute.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "trainers/distributed/process_group.h"

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "hang") != 0 && std::strcmp(argv[1], "die") != 0)) {
    std::fprintf(stderr, "usage: kiln_dist_failure {hang|die}\n");
    return 2;
  }
  const bool hang = std::strcmp(argv[1], "hang") == 0;
  try {
    kiln::ProcessGroup& group = kiln::init_process_group();
    for (int step = 0; step < 100000; ++step) {
      if (step == 3 && group.rank() == group.world_size() - 1) {
        if (hang) {
          std::this_thread::sleep_for(std::chrono::seconds(60));
        } else {
          std::raise(SIGKILL);
        }
      }
      float value = 1;
      group.all_reduce(&value, 1, kiln::DType::Float32, kiln::ReduceOp::Sum);
    }
    std::fprintf(stderr, "kiln_dist_failure: rank %d finished every collective; the failure was not seen\n",
                 group.rank());
    kiln::finalize_process_group(true);
    return 0;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "kiln: error: %s\n", e.what());
    kiln::finalize_process_group(false);
    return 1;
  }
}
