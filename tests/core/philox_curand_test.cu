// kiln's Philox numbering against cuRAND's Philox4_32_10 on the GPU: element i of random op
// `offset` must equal curand() after curand_init(seed, subsequence = offset, offset = i).
#include <cuda_runtime.h>
#include <curand_kernel.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/device.h"
#include "core/philox.h"

namespace {

__global__ void curand_draws(unsigned long long seed, unsigned long long subsequence, unsigned* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  curandStatePhilox4_32_10_t state;
  curand_init(seed, subsequence, static_cast<unsigned long long>(i), &state);
  out[i] = curand(&state);
}

TEST(PhiloxCurand, MatchesCurandPhilox4x32_10) {
  if (!kiln::cuda_available()) GTEST_SKIP() << "no CUDA device available";
  const int n = 4099;
  for (unsigned long long seed : {0ULL, 12345ULL, 0xfedcba9876543210ULL}) {
    for (unsigned long long subsequence : {0ULL, 1ULL, 77ULL}) {
      unsigned* d = nullptr;
      ASSERT_EQ(cudaMalloc(&d, n * sizeof(unsigned)), cudaSuccess);
      curand_draws<<<(n + 255) / 256, 256>>>(seed, subsequence, d, n);
      ASSERT_EQ(cudaGetLastError(), cudaSuccess);
      std::vector<unsigned> got(n);
      ASSERT_EQ(cudaMemcpy(got.data(), d, n * sizeof(unsigned), cudaMemcpyDeviceToHost), cudaSuccess);
      cudaFree(d);
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(got[i], kiln::philox::draw_u32(seed, subsequence, i))
            << "seed " << seed << " sub " << subsequence << " element " << i;
    }
  }
}

}  // namespace
