// CUDA reductions over the middle axis of [outer, n, inner] (contract: kernels/reduce.h).
//  - inner == 1 (reducing the last dim): one block per row, warp-shuffle tree; when there are
//    few long rows each row is split over several blocks and the partial results reduced by
//    a second launch (fixed split, so the result is deterministic).
//  - inner > 1: one thread per output column walks n with coalesced loads across threads.
#include <cuda_runtime.h>

#include <cmath>

#include "core/cuda_context.h"
#include "core/tensor.h"
#include "kernels/reduce.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

// Sums `count` values per thread-block cooperatively; thread 0 gets the block total.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T partial[kThreads / 32];
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = threadIdx.x < kThreads / 32 ? partial[threadIdx.x] : T(0);
  if (warp == 0) v = warp_sum(v);
  return v;
}

// out[row * splits + split] = sum of in[row, split's chunk].
template <typename T>
__global__ void sum_rows_kernel(const T* in, T* out, int64_t n, int splits) {
  const int64_t row = blockIdx.x / splits;
  const int split = blockIdx.x % splits;
  const int64_t chunk = (n + splits - 1) / splits;
  const int64_t begin = split * chunk;
  const int64_t end = begin + chunk < n ? begin + chunk : n;
  const T* p = in + row * n;
  T acc = T(0);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc += p[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[blockIdx.x] = acc;
}

template <typename T>
__global__ void sum_columns_kernel(const T* in, T* out, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t o = c / inner, i = c % inner;
    const T* p = in + o * n * inner + i;
    T acc = T(0);
    for (int64_t r = 0; r < n; ++r) acc += p[r * inner];
    out[c] = acc;
  }
}

// (value, index) ordering for max: NaN beats numbers, larger beats smaller, and on ties the
// smaller index wins, so the result is the first NaN or else the first maximum.
template <typename T>
__device__ bool better(T v, int64_t i, T best, int64_t best_i) {
  const bool v_nan = isnan(v), b_nan = isnan(best);
  if (v_nan != b_nan) return v_nan;
  if (!v_nan && v != best) return v > best;
  return i < best_i;
}

template <typename T>
__global__ void max_rows_kernel(const T* in, T* values, int64_t* indices, int64_t n) {
  __shared__ T sv[kThreads];
  __shared__ int64_t si[kThreads];
  const T* p = in + static_cast<int64_t>(blockIdx.x) * n;
  T best = p[0];
  int64_t best_i = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    if (better(p[i], i, best, best_i)) {
      best = p[i];
      best_i = i;
    }
  sv[threadIdx.x] = best;
  si[threadIdx.x] = best_i;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s && better(sv[threadIdx.x + s], si[threadIdx.x + s], sv[threadIdx.x], si[threadIdx.x])) {
      sv[threadIdx.x] = sv[threadIdx.x + s];
      si[threadIdx.x] = si[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    if (values) values[blockIdx.x] = sv[0];
    if (indices) indices[blockIdx.x] = si[0];
  }
}

template <typename T>
__global__ void max_columns_kernel(const T* in, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t o = c / inner, i = c % inner;
    const T* p = in + o * n * inner + i;
    T best = p[0];
    int64_t best_i = 0;
    for (int64_t r = 1; r < n; ++r)
      if (better(p[r * inner], r, best, best_i)) {
        best = p[r * inner];
        best_i = r;
      }
    if (values) values[c] = best;
    if (indices) indices[c] = best_i;
  }
}

template <typename T>
__global__ void count_nonfinite_kernel(const T* in, int64_t n, unsigned long long* count) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  unsigned long long local = 0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    local += !isfinite(in[i]);
  if (local) atomicAdd(count, local);
}

}  // namespace

template <typename T>
void sum_mid(const T* in, T* out, int64_t outer, int64_t n, int64_t inner) {
  cudaStream_t s = kiln::cuda::stream();
  if (outer * inner == 0) return;
  if (n == 0) {
    KILN_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(T) * outer * inner, s));
    return;
  }
  if (inner > 1) {
    sum_columns_kernel<T><<<kiln::cuda::grid_for(outer * inner, kThreads), kThreads, 0, s>>>(in, out, outer, n, inner);
    KILN_LAUNCH_CHECK();
    return;
  }
  // Few long rows: split each row so the whole GPU works, then reduce the partials.
  int splits = 1;
  if (outer < 1024 && n > 16 * kThreads) {
    const int64_t want = (n + 8 * kThreads - 1) / (8 * kThreads);
    splits = static_cast<int>(want < 1024 ? want : 1024);
  }
  if (splits == 1) {
    sum_rows_kernel<T><<<static_cast<unsigned>(outer), kThreads, 0, s>>>(in, out, n, 1);
    KILN_LAUNCH_CHECK();
    return;
  }
  Tensor partial = Tensor::empty(Shape{static_cast<int64_t>(outer * splits)}, dtype_of<T>, Device::cuda(kiln::cuda::current_device()));
  sum_rows_kernel<T><<<static_cast<unsigned>(outer * splits), kThreads, 0, s>>>(in, partial.data<T>(), n, splits);
  KILN_LAUNCH_CHECK();
  sum_rows_kernel<T><<<static_cast<unsigned>(outer), kThreads, 0, s>>>(partial.data<T>(), out, splits, 1);
  KILN_LAUNCH_CHECK();
}

template <typename T>
void max_mid(const T* in, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  cudaStream_t s = kiln::cuda::stream();
  if (outer * inner == 0) return;
  if (inner == 1) {
    max_rows_kernel<T><<<static_cast<unsigned>(outer), kThreads, 0, s>>>(in, values, indices, n);
  } else {
    max_columns_kernel<T><<<kiln::cuda::grid_for(outer * inner, kThreads), kThreads, 0, s>>>(in, values, indices,
                                                                                             outer, n, inner);
  }
  KILN_LAUNCH_CHECK();
}

template <typename T>
int64_t count_nonfinite(const T* in, int64_t n) {
  if (n == 0) return 0;
  cudaStream_t s = kiln::cuda::stream();
  Tensor count = Tensor::zeros(Shape{static_cast<int64_t>(1)}, DType::Int64, Device::cuda(kiln::cuda::current_device()));
  count_nonfinite_kernel<T><<<kiln::cuda::grid_for(n, kThreads, 4096), kThreads, 0, s>>>(
      in, n, reinterpret_cast<unsigned long long*>(count.data<int64_t>()));
  KILN_LAUNCH_CHECK();
  return count.item<int64_t>();
}

template void sum_mid<float>(const float*, float*, int64_t, int64_t, int64_t);
template void sum_mid<double>(const double*, double*, int64_t, int64_t, int64_t);
template void max_mid<float>(const float*, float*, int64_t*, int64_t, int64_t, int64_t);
template void max_mid<double>(const double*, double*, int64_t*, int64_t, int64_t, int64_t);
template int64_t count_nonfinite<float>(const float*, int64_t);
template int64_t count_nonfinite<double>(const double*, int64_t);

}  // namespace kiln::kernels::cuda
