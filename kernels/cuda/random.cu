// CUDA random fills (contract: kernels/random.h): one Philox call per thread yields the four
// elements of one counter block, computed by the same functions as the CPU loop.
#include <cuda_runtime.h>

#include <type_traits>

#include "core/cuda_context.h"
#include "core/random_math.h"
#include "kernels/random.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void fill_uniform_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, T low, T width) {
  const int64_t blocks = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < blocks; b += stride) {
    const philox::U32x4 w = philox::draw_block(seed, offset, static_cast<uint64_t>(b));
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * b + k;
      if (i >= n) break;
      T u;
      if constexpr (std::is_same_v<T, float>)
        u = philox::u32_to_unit_float(w.v[k]);
      else
        u = philox::u32_to_unit_double(w.v[k]);
      out[i] = philox::scale_uniform(u, low, width);
    }
  }
}

template <typename T>
__global__ void fill_normal_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
                                   double stddev) {
  const int64_t blocks = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < blocks; b += stride) {
    double z[4];
    philox::normal_block(seed, offset, static_cast<uint64_t>(b), z);
#pragma unroll
    for (int k = 0; k < 4; ++k)
      if (4 * b + k < n) out[4 * b + k] = static_cast<T>(KILN_DADD(mean, KILN_DMUL(stddev, z[k])));
  }
}

__global__ void write_offset_cells_kernel(uint64_t* cells, OffsetCells v) {
  if (static_cast<int>(threadIdx.x) < v.count) cells[threadIdx.x] = v.values[threadIdx.x];
}

}  // namespace

void write_offset_cells(uint64_t* cells, const OffsetCells& v) {
  if (v.count == 0) return;
  kiln::cuda::launch(write_offset_cells_kernel, {1, 32}, cells, v);
}

template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high) {
  if (n == 0) return;
  kiln::cuda::launch(fill_uniform_kernel<T>, {kiln::cuda::grid_for((n + 3) / 4, kThreads), kThreads}, out, n,
                     seed, offset, static_cast<T>(low), static_cast<T>(high - low));
}

template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double stddev) {
  if (n == 0) return;
  kiln::cuda::launch(fill_normal_kernel<T>, {kiln::cuda::grid_for((n + 3) / 4, kThreads), kThreads}, out, n,
                     seed, offset, mean, stddev);
}

template void fill_uniform<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_uniform<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<double>(double*, int64_t, uint64_t, uint64_t, double, double);

}  // namespace kiln::kernels::cuda
