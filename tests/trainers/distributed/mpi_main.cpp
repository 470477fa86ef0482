// Entry point of kiln_dist_tests, which ctest runs as several processes under mpirun: starts
// the process group from the launcher's environment, runs the tests on every rank, and
// exits non-zero on every rank when a test failed on any of them.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>

#include "core/error.h"
#include "trainers/distributed/process_group.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  try {
    kiln::ProcessGroup& group = kiln::init_process_group();
    const int result = RUN_ALL_TESTS();
    int64_t failed_ranks = result != 0;
    group.all_reduce(&failed_ranks, 1, kiln::DType::Int64, kiln::ReduceOp::Sum);
    if (group.is_root() && failed_ranks)
      std::fprintf(stderr, "kiln_dist_tests: %lld rank(s) failed\n", static_cast<long long>(failed_ranks));
    kiln::finalize_process_group(true);
    return failed_ranks ? 1 : 0;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "kiln_dist_tests: error: %s\n", e.what());
    kiln::finalize_process_group(false);
    return 1;
  }
}
