// Contract of the reduction kernels behind sum/mean/max/argmax. Every reduction is phrased
// over the middle axis of a contiguous [outer, n, inner] array, which covers any single
// dimension of a contiguous tensor without a transpose (outer = product of the dims before
// it, inner = product after). Outputs are [outer, inner], contiguous, assigned (=).
//  - sum: float accumulates in double on the CPU; on CUDA in float with a tree order
//    (fixed for a given shape, so results are deterministic run to run).
//  - max: values and/or indices (either pointer may be null); ties resolve to the first
//    index; NaN compares as larger than everything, as in PyTorch.
#pragma once

#include <cstdint>

namespace kiln::kernels {

namespace cpu {
template <typename T>
void sum_mid(const T* in, T* out, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void max_mid(const T* in, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner);
// Number of NaN/Inf elements in a contiguous array.
template <typename T>
int64_t count_nonfinite(const T* in, int64_t n);
}  // namespace cpu

namespace cuda {
template <typename T>
void sum_mid(const T* in, T* out, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void max_mid(const T* in, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner);
template <typename T>
int64_t count_nonfinite(const T* in, int64_t n);  // synchronises
}  // namespace cuda

}  // namespace kiln::kernels
