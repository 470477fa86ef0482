// CUDA reductions over the middle axis of [outer, n, inner] (contract: kernels/reduce.h).
//  - inner == 1 (reducing the last dim): rows of up to kWarpRowMax elements get one warp each
//    (eight rows per block: an argmax over 10 classes keeps 32 lanes busy, not 256 threads);
//    longer rows one block each, and when there are few long rows each row is split over
//    several blocks and the partial results reduced by a second launch.
//  - inner > 1: a 32 x 8 block covers 32 adjacent output columns (coalesced loads); its eight
//    thread rows walk interleaved eighths of n and are summed in shared memory; tall inputs
//    (n large, few columns) are also split over blocks along n, with a second pass over the
//    [splits, columns] partials.
// Every launch strides over its rows or columns, so any size fits the grid, and every order is
// fixed for a given shape: results are deterministic.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "core/cuda_context.h"
#include "kernels/fast_divmod.h"
#include "kernels/reduce.h"
#include "kernels/scratch.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int64_t kWarpRowMax = 1024;  // rows up to this long get one warp each
constexpr int kColumnTile = 32, kColumnRows = kThreads / kColumnTile;  // the 32 x 8 column block

template <typename T>
__device__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

// Sums a value per thread over the block; thread 0 gets the total. Safe to call repeatedly in
// a loop (it synchronises before reusing its shared memory).
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T partial[kWarps];
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = threadIdx.x < kWarps ? partial[threadIdx.x] : T(0);
  if (warp == 0) v = warp_sum(v);
  return v;
}

// One warp per row: out[row] = sum of in[row, :].
template <typename T>
__global__ void sum_short_rows_kernel(const T* in, T* out, int64_t rows, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5); row < rows;
       row += step) {
    const T* p = in + row * n;
    T acc = T(0);
    for (int64_t i = lane; i < n; i += 32) acc += p[i];
    acc = warp_sum(acc);
    if (lane == 0) out[row] = acc;
  }
}

// One block per (row, split): out[row * splits + split] = sum of in[row, split's chunk].
template <typename T>
__global__ void sum_long_rows_kernel(const T* in, T* out, int64_t rows, int64_t n, int splits) {
  const int64_t chunk = (n + splits - 1) / splits;
  for (int64_t g = blockIdx.x; g < rows * splits; g += gridDim.x) {
    const int64_t row = g / splits;
    const int64_t begin = (g - row * splits) * chunk;
    const int64_t end = begin + chunk < n ? begin + chunk : n;
    const T* p = in + row * n;
    T acc = T(0);
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc += p[i];
    acc = block_sum(acc);
    if (threadIdx.x == 0) out[g] = acc;
  }
}

// The first element of output column c = (o, i) of [outer, n, inner]: in + o*n*inner + i.
// 32-bit column indices divide with the launch's divider, 64-bit ones with the hardware.
template <typename T, typename Index>
__device__ const T* column_start(const T* in, Index c, int64_t n, Index inner, FastDivmod div_inner) {
  Index o, i;
  if constexpr (sizeof(Index) == 4) {
    uint32_t q, r;
    div_inner.divmod(c, q, r);
    o = q, i = r;
  } else {
    o = c / inner, i = c % inner;
  }
  return in + static_cast<int64_t>(o) * n * inner + i;
}

// Output column c = (o, i) of [outer, inner]; part `split` of `splits` of the n axis.
// out[split * columns + c] = sum over that part. 32 x 8 threads: x picks the column, y the
// eighth of the part's rows; the eight sums are added in y order.
template <typename T, typename Index>
__global__ void sum_columns_kernel(const T* in, T* out, Index columns, int64_t n, Index inner,
                                   FastDivmod div_inner, int splits) {
  __shared__ T tile[kColumnRows][kColumnTile];
  const int tx = threadIdx.x % kColumnTile, ty = threadIdx.x / kColumnTile;
  const int64_t chunk = (n + splits - 1) / splits;
  const Index groups = (columns + kColumnTile - 1) / kColumnTile;
  for (int64_t g = blockIdx.x; g < static_cast<int64_t>(groups) * splits; g += gridDim.x) {
    const int split = static_cast<int>(g / groups);
    const Index c = static_cast<Index>(g - static_cast<int64_t>(split) * groups) * kColumnTile + tx;
    const int64_t begin = split * chunk, end = begin + chunk < n ? begin + chunk : n;
    T acc = T(0);
    if (c < columns) {
      const T* p = column_start(in, c, n, inner, div_inner);
      for (int64_t r = begin + ty; r < end; r += kColumnRows) acc += p[r * inner];
    }
    __syncthreads();  // the previous group's tile has been read
    tile[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && c < columns) {
      T total = tile[0][tx];
      for (int y = 1; y < kColumnRows; ++y) total += tile[y][tx];
      out[static_cast<int64_t>(split) * columns + c] = total;
    }
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

// This thread's best of p[start], p[start + step], ... (p[0] when it has none).
template <typename T>
__device__ void scan_max(const T* p, int64_t n, int64_t start, int64_t step, T& best, int64_t& best_i) {
  best = p[0];
  best_i = 0;
  for (int64_t i = start; i < n; i += step)
    if (better(p[i], i, best, best_i)) {
      best = p[i];
      best_i = i;
    }
}

// One warp per row of up to kWarpRowMax elements.
template <typename T>
__global__ void max_short_rows_kernel(const T* in, T* values, int64_t* indices, int64_t rows, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5); row < rows;
       row += step) {
    T best;
    int64_t best_i;
    scan_max(in + row * n, n, lane, 32, best, best_i);
    for (int off = 16; off > 0; off >>= 1) {
      const T v = __shfl_down_sync(0xffffffffu, best, off);
      const int64_t vi = __shfl_down_sync(0xffffffffu, best_i, off);
      if (better(v, vi, best, best_i)) {
        best = v;
        best_i = vi;
      }
    }
    if (lane == 0) {
      if (values) values[row] = best;
      if (indices) indices[row] = best_i;
    }
  }
}

// One block per longer row.
template <typename T>
__global__ void max_long_rows_kernel(const T* in, T* values, int64_t* indices, int64_t rows, int64_t n) {
  __shared__ T sv[kThreads];
  __shared__ int64_t si[kThreads];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    T best;
    int64_t best_i;
    scan_max(in + row * n, n, threadIdx.x, blockDim.x, best, best_i);
    __syncthreads();  // the previous row's results have been read
    sv[threadIdx.x] = best;
    si[threadIdx.x] = best_i;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s &&
          better(sv[threadIdx.x + s], si[threadIdx.x + s], sv[threadIdx.x], si[threadIdx.x])) {
        sv[threadIdx.x] = sv[threadIdx.x + s];
        si[threadIdx.x] = si[threadIdx.x + s];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      if (values) values[row] = sv[0];
      if (indices) indices[row] = si[0];
    }
  }
}

template <typename T, typename Index>
__global__ void max_columns_kernel(const T* in, T* values, int64_t* indices, Index columns, int64_t n,
                                   Index inner, FastDivmod div_inner) {
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index c = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; c < columns; c += stride) {
    const T* p = column_start(in, c, n, inner, div_inner);
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

// Blocks to launch for `work` units of which one block takes `per_block`: enough to fill the
// GPU several times over, never more than there is work (kernels stride over the rest).
unsigned blocks_for(int64_t work, int64_t per_block) {
  return kiln::cuda::grid_for(work, static_cast<int>(per_block), int64_t(1) << 20);
}

// Sums over n of [outer, n, inner] with inner > 1 into out [splits, outer*inner].
template <typename T>
void launch_sum_columns(const T* in, T* out, int64_t outer, int64_t n, int64_t inner, int splits,
                        cudaStream_t s) {
  const int64_t columns = outer * inner;
  const unsigned grid = blocks_for(((columns + kColumnTile - 1) / kColumnTile) * splits, 1);
  if (columns < FastDivmod::kLimit)
    sum_columns_kernel<T, uint32_t><<<grid, kThreads, 0, s>>>(
        in, out, static_cast<uint32_t>(columns), n, static_cast<uint32_t>(inner), FastDivmod(inner), splits);
  else
    sum_columns_kernel<T, int64_t>
        <<<grid, kThreads, 0, s>>>(in, out, columns, n, inner, FastDivmod(), splits);
  KILN_LAUNCH_CHECK();
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
  const Device device = Device::cuda(kiln::cuda::current_device());
  if (inner > 1) {
    // Tall and narrow (few column groups, long columns): split n so the GPU fills up, then sum
    // the [splits, columns] partials, itself a column sum with n = splits.
    const int64_t columns = outer * inner, groups = (columns + kColumnTile - 1) / kColumnTile;
    int splits = 1;
    if (groups < 1024 && n > 64 * kColumnRows) {
      const int64_t want =
          std::min<int64_t>((n + 32 * kColumnRows - 1) / (32 * kColumnRows), 1024 / groups + 1);
      splits = static_cast<int>(std::max<int64_t>(want, 1));
    }
    if (splits == 1) {
      launch_sum_columns(in, out, outer, n, inner, 1, s);
      return;
    }
    Scratch<T> partial(device, splits * columns);
    launch_sum_columns(in, partial.data(), outer, n, inner, splits, s);
    launch_sum_columns(partial.data(), out, int64_t(1), int64_t(splits), columns, 1, s);
    return;
  }
  if (n <= kWarpRowMax) {
    sum_short_rows_kernel<T><<<blocks_for(outer, kWarps), kThreads, 0, s>>>(in, out, outer, n);
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
    sum_long_rows_kernel<T><<<blocks_for(outer, 1), kThreads, 0, s>>>(in, out, outer, n, 1);
    KILN_LAUNCH_CHECK();
    return;
  }
  Scratch<T> partial(device, outer * splits);
  sum_long_rows_kernel<T>
      <<<blocks_for(outer * splits, 1), kThreads, 0, s>>>(in, partial.data(), outer, n, splits);
  KILN_LAUNCH_CHECK();
  sum_short_rows_kernel<T><<<blocks_for(outer, kWarps), kThreads, 0, s>>>(partial.data(), out, outer, splits);
  KILN_LAUNCH_CHECK();
}

template <typename T>
void max_mid(const T* in, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  cudaStream_t s = kiln::cuda::stream();
  if (outer * inner == 0) return;
  if (inner == 1) {
    if (n <= kWarpRowMax)
      max_short_rows_kernel<T><<<blocks_for(outer, kWarps), kThreads, 0, s>>>(in, values, indices, outer, n);
    else
      max_long_rows_kernel<T><<<blocks_for(outer, 1), kThreads, 0, s>>>(in, values, indices, outer, n);
  } else {
    const int64_t columns = outer * inner;
    const unsigned grid = kiln::cuda::grid_for(columns, kThreads);
    if (columns < FastDivmod::kLimit)
      max_columns_kernel<T, uint32_t>
          <<<grid, kThreads, 0, s>>>(in, values, indices, static_cast<uint32_t>(columns), n,
                                     static_cast<uint32_t>(inner), FastDivmod(inner));
    else
      max_columns_kernel<T, int64_t>
          <<<grid, kThreads, 0, s>>>(in, values, indices, columns, n, inner, FastDivmod());
  }
  KILN_LAUNCH_CHECK();
}

template <typename T>
int64_t count_nonfinite(const T* in, int64_t n) {
  if (n == 0) return 0;
  cudaStream_t s = kiln::cuda::stream();
  Scratch<unsigned long long> count(Device::cuda(kiln::cuda::current_device()), 1);
  KILN_CUDA_CHECK(cudaMemsetAsync(count.data(), 0, sizeof(unsigned long long), s));
  count_nonfinite_kernel<T><<<kiln::cuda::grid_for(n, kThreads, 4096), kThreads, 0, s>>>(in, n, count.data());
  KILN_LAUNCH_CHECK();
  unsigned long long host = 0;
  KILN_CUDA_CHECK(cudaMemcpyAsync(&host, count.data(), sizeof(host), cudaMemcpyDeviceToHost, s));
  kiln::cuda::synchronize();
  return static_cast<int64_t>(host);
}

template void sum_mid<float>(const float*, float*, int64_t, int64_t, int64_t);
template void sum_mid<double>(const double*, double*, int64_t, int64_t, int64_t);
template void max_mid<float>(const float*, float*, int64_t*, int64_t, int64_t, int64_t);
template void max_mid<double>(const double*, double*, int64_t*, int64_t, int64_t, int64_t);
template int64_t count_nonfinite<float>(const float*, int64_t);
template int64_t count_nonfinite<double>(const double*, int64_t);

}  // namespace kiln::kernels::cuda
