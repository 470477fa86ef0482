// CUDA fused softmax cross-entropy (contract: kernels/cross_entropy.h). Rows of up to 32
// classes are handled by one thread each (the source's 10-class problems: a warp covers 32
// rows whose data is contiguous, so loads coalesce through L1); wider rows by one warp each
// with shuffle reductions. Each row is read twice (max/sum pass, then loss/gradient pass)
// and its gradient written once.
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "kernels/cross_entropy.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ T coefficient(const CrossEntropyArgs& a, int64_t k, int64_t y, T wy, const T* w) {
  const T wk = w ? w[k] : T(1);
  if (a.convention == SmoothingConvention::PyTorch)
    return (k == y ? static_cast<T>(1 - a.smoothing) * wy : T(0)) + static_cast<T>(a.smoothing / a.c) * wk;
  const T off = a.c > 1 ? static_cast<T>(a.smoothing / (a.c - 1)) : T(0);
  return wy * (k == y ? static_cast<T>(1 - a.smoothing) : off);
}

template <typename T>
__global__ void ce_row_per_thread_kernel(CrossEntropyArgs a, const T* logits, const int64_t* labels,
                                         const T* w, T* loss, T* dlogits, T* row_weight, int* error_flag) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += stride) {
    const T* z = logits + i * a.c;
    const int64_t y = labels[i];
    if (y < 0 || y >= a.c) {
      atomicOr(error_flag, kiln::cuda::kLabelOutOfRange);
      loss[i] = T(0);
      row_weight[i] = T(0);
      if (dlogits)
        for (int64_t k = 0; k < a.c; ++k) dlogits[i * a.c + k] = T(0);
      continue;
    }
    T mx = z[0];
    for (int64_t k = 1; k < a.c; ++k) mx = max(mx, z[k]);
    T se = 0;
    for (int64_t k = 0; k < a.c; ++k) se += exp(z[k] - mx);
    const T lse = mx + log(se);
    const T wy = w ? w[y] : T(1);
    T l = 0, total = 0;
    for (int64_t k = 0; k < a.c; ++k) {
      const T c = coefficient(a, k, y, wy, w);
      l += c * (lse - z[k]);
      total += c;
    }
    loss[i] = l;
    row_weight[i] = wy;
    if (dlogits)
      for (int64_t k = 0; k < a.c; ++k)
        dlogits[i * a.c + k] = total * exp(z[k] - lse) - coefficient(a, k, y, wy, w);
  }
}

template <typename T>
__device__ T warp_max(T v) {
  for (int off = 16; off > 0; off >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
template <typename T>
__device__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

template <typename T>
__global__ void ce_row_per_warp_kernel(CrossEntropyArgs a, const T* logits, const int64_t* labels, const T* w,
                                       T* loss, T* dlogits, T* row_weight, int* error_flag) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < a.n; i += warps) {
    const T* z = logits + i * a.c;
    const int64_t y = labels[i];
    if (y < 0 || y >= a.c) {  // uniform across the warp
      if (lane == 0) {
        atomicOr(error_flag, kiln::cuda::kLabelOutOfRange);
        loss[i] = T(0);
        row_weight[i] = T(0);
      }
      if (dlogits)
        for (int64_t k = lane; k < a.c; k += 32) dlogits[i * a.c + k] = T(0);
      continue;
    }
    T mx = -INFINITY;
    for (int64_t k = lane; k < a.c; k += 32) mx = max(mx, z[k]);
    mx = warp_max(mx);
    T se = 0;
    for (int64_t k = lane; k < a.c; k += 32) se += exp(z[k] - mx);
    se = warp_sum(se);
    const T lse = mx + log(se);
    const T wy = w ? w[y] : T(1);
    T l = 0, total = 0;
    for (int64_t k = lane; k < a.c; k += 32) {
      const T c = coefficient(a, k, y, wy, w);
      l += c * (lse - z[k]);
      total += c;
    }
    l = warp_sum(l);
    total = warp_sum(total);
    if (lane == 0) {
      loss[i] = l;
      row_weight[i] = wy;
    }
    if (dlogits)
      for (int64_t k = lane; k < a.c; k += 32)
        dlogits[i * a.c + k] = total * exp(z[k] - lse) - coefficient(a, k, y, wy, w);
  }
}

}  // namespace

template <typename T>
void cross_entropy_forward(const CrossEntropyArgs& a, const T* logits, const int64_t* labels,
                           const T* class_weights, T* loss, T* dlogits, T* row_weight) {
  if (a.n == 0) return;
  int* flag = kiln::cuda::device_error_flag();
  if (a.c <= 32) {
    ce_row_per_thread_kernel<T><<<kiln::cuda::grid_for(a.n, kThreads), kThreads, 0, kiln::cuda::stream()>>>(
        a, logits, labels, class_weights, loss, dlogits, row_weight, flag);
  } else {
    ce_row_per_warp_kernel<T>
        <<<kiln::cuda::grid_for(a.n * 32, kThreads), kThreads, 0, kiln::cuda::stream()>>>(
            a, logits, labels, class_weights, loss, dlogits, row_weight, flag);
  }
  KILN_LAUNCH_CHECK();
}

template void cross_entropy_forward<float>(const CrossEntropyArgs&, const float*, const int64_t*,
                                           const float*, float*, float*, float*);
template void cross_entropy_forward<double>(const CrossEntropyArgs&, const double*, const int64_t*,
                                            const double*, double*, double*, double*);

}  // namespace kiln::kernels::cuda
