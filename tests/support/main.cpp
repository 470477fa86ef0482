// The test binary's entry point: the same CPU run-time tuning as the `kiln` program (so the
// suite runs on the fast BLAS kernels), then GoogleTest.
#include <gtest/gtest.h>

#include "core/cpu_runtime.h"

int main(int argc, char** argv) {
  kiln::tune_cpu_runtime(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
