// CUDA row gather and scatter-add (contract: kernels/index.h). One thread per element; an
// out-of-range index raises the device error flag and its row is skipped.
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "kernels/index.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void index_select_kernel(const T* src, const int64_t* index, T* out, int64_t count, int64_t rows,
                                    int64_t row_size, int* error_flag) {
  const int64_t total = count * row_size;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t i = e / row_size, j = e % row_size;
    const int64_t r = index[i];
    if (r < 0 || r >= rows) {
      if (j == 0) atomicOr(error_flag, kiln::cuda::kIndexOutOfRange);
      continue;
    }
    out[e] = src[r * row_size + j];
  }
}

template <typename T>
__global__ void index_add_kernel(const T* src, const int64_t* index, T* dst, int64_t count, int64_t rows,
                                 int64_t row_size, int* error_flag) {
  const int64_t total = count * row_size;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t i = e / row_size, j = e % row_size;
    const int64_t r = index[i];
    if (r < 0 || r >= rows) {
      if (j == 0) atomicOr(error_flag, kiln::cuda::kIndexOutOfRange);
      continue;
    }
    atomicAdd(dst + r * row_size + j, src[e]);
  }
}

}  // namespace

template <typename T>
void index_select_rows(const T* src, const int64_t* index, T* out, int64_t count, int64_t rows,
                       int64_t row_size) {
  const int64_t total = count * row_size;
  if (total == 0) return;
  kiln::cuda::launch(index_select_kernel<T>, {kiln::cuda::grid_for(total, kThreads), kThreads}, src, index,
                     out, count, rows, row_size, kiln::cuda::device_error_flag());
}

template <typename T>
void index_add_rows(const T* src, const int64_t* index, T* dst, int64_t count, int64_t rows,
                    int64_t row_size) {
  const int64_t total = count * row_size;
  if (total == 0) return;
  kiln::cuda::launch(index_add_kernel<T>, {kiln::cuda::grid_for(total, kThreads), kThreads}, src, index, dst,
                     count, rows, row_size, kiln::cuda::device_error_flag());
}

template void index_select_rows<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t);
template void index_select_rows<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t);
template void index_select_rows<int64_t>(const int64_t*, const int64_t*, int64_t*, int64_t, int64_t, int64_t);
template void index_select_rows<uint8_t>(const uint8_t*, const int64_t*, uint8_t*, int64_t, int64_t, int64_t);
template void index_add_rows<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t);
template void index_add_rows<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t);

}  // namespace kiln::kernels::cuda
