// CUDA dropout (contract: kernels/dropout.h). With group == 1 each thread computes one
// Philox block and applies its four words to four consecutive elements; Dropout2d looks up
// the draw of each element's channel. The keep test is the CPU's (kernels/dropout_mask.h).
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "kernels/dropout.h"
#include "kernels/dropout_mask.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// group == 1: element i uses word i % 4 of Philox block i / 4.
template <typename T>
__global__ void dropout_elementwise_kernel(int64_t n, uint64_t seed, PhiloxOffset where, uint32_t threshold,
                                           T scale, const T* x, T* y) {
  const uint64_t offset = where.resolve();
  const int64_t blocks = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < blocks; b += stride) {
    const philox::U32x4 w = philox::draw_block(seed, offset, static_cast<uint64_t>(b));
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * b + k;
      if (i < n) y[i] = (w.v[k] >> 8) >= threshold ? x[i] * scale : T(0);
    }
  }
}

// group > 1 (Dropout2d): element i uses draw i / group.
template <typename T>
__global__ void dropout_grouped_kernel(int64_t n, int64_t group, uint64_t seed, PhiloxOffset where,
                                       uint32_t threshold, T scale, const T* x, T* y) {
  const uint64_t offset = where.resolve();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const bool keep = dropout_keep(seed, offset, static_cast<uint64_t>(i / group), threshold);
    y[i] = keep ? x[i] * scale : T(0);
  }
}

}  // namespace

template <typename T>
void dropout_apply(const DropoutArgs& a, const T* x, T* y) {
  if (a.numel == 0) return;
  const uint32_t threshold = dropout_threshold(a.p);
  const T scale = static_cast<T>(1.0 / (1.0 - a.p));
  if (a.group == 1) {
    dropout_elementwise_kernel<T>
        <<<kiln::cuda::grid_for((a.numel + 3) / 4, kThreads), kThreads, 0, kiln::cuda::stream()>>>(
            a.numel, a.seed, a.offset, threshold, scale, x, y);
  } else {
    dropout_grouped_kernel<T><<<kiln::cuda::grid_for(a.numel, kThreads), kThreads, 0, kiln::cuda::stream()>>>(
        a.numel, a.group, a.seed, a.offset, threshold, scale, x, y);
  }
  KILN_LAUNCH_CHECK();
}

template void dropout_apply<float>(const DropoutArgs&, const float*, float*);
template void dropout_apply<double>(const DropoutArgs&, const double*, double*);

}  // namespace kiln::kernels::cuda
