// CUDA mean-squared-error kernels (contract: kernels/mse.h). The forward sum is reduced in a
// fixed two-level tree (per-block partials, then one block), so it is deterministic.
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "kernels/mse.h"
#include "kernels/scratch.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 1024;

template <typename T>
__device__ T block_sum(T v) {
  __shared__ T s[kThreads];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step >>= 1) {
    if (threadIdx.x < step) s[threadIdx.x] += s[threadIdx.x + step];
    __syncthreads();
  }
  return s[0];
}

template <typename T>
__global__ void squared_diff_partial_kernel(int64_t n, const T* x, const T* y, T* partial) {
  T acc = 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const T d = x[i] - y[i];
    acc += d * d;
  }
  const T total = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

template <typename T>
__global__ void sum_partials_kernel(int count, const T* partial, T* out) {
  T acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  const T total = block_sum(acc);
  if (threadIdx.x == 0) *out = total;
}

template <typename T>
__global__ void mse_backward_kernel(int64_t n, const T* x, const T* y, const T* upstream, double scale,
                                    T* dx) {
  const T k = static_cast<T>(scale * static_cast<double>(upstream[0]));  // as the CPU: in double
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    dx[i] = k * (x[i] - y[i]);
}

}  // namespace

template <typename T>
void mse_forward(int64_t n, const T* x, const T* y, T* sum_out) {
  const unsigned blocks = kiln::cuda::grid_for(n, kThreads, kMaxBlocks);
  Scratch<T> partial(Device::cuda(kiln::cuda::current_device()), blocks);
  kiln::cuda::launch(squared_diff_partial_kernel<T>, {blocks, kThreads}, n, x, y, partial.data());
  kiln::cuda::launch(sum_partials_kernel<T>, {1, kThreads}, static_cast<int>(blocks), partial.data(),
                     sum_out);
}

template <typename T>
void mse_backward(int64_t n, const T* x, const T* y, const T* upstream, double scale, T* dx) {
  if (n == 0) return;
  kiln::cuda::launch(mse_backward_kernel<T>, {kiln::cuda::grid_for(n, kThreads), kThreads}, n, x, y, upstream,
                     scale, dx);
}

template void mse_forward<float>(int64_t, const float*, const float*, float*);
template void mse_forward<double>(int64_t, const double*, const double*, double*);
template void mse_backward<float>(int64_t, const float*, const float*, const float*, double, float*);
template void mse_backward<double>(int64_t, const double*, const double*, const double*, double, double*);

}  // namespace kiln::kernels::cuda
