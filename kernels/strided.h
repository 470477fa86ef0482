// Index arithmetic for elementwise kernels over strided operands that share one shape.
// Dimensions that are contiguous in every operand are merged first, so a contiguous or
// simply-sliced tensor costs one division per element (usually none: see is_contiguous).
#pragma once

#include <cstdint>

#include "core/macros.h"
#include "core/tensor.h"

namespace kiln::kernels {

template <int N>
struct StridedOperands {
  int ndim = 0;
  int64_t numel = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};  // in elements

  // Element offsets of the operands for row-major linear index `linear`.
  KILN_HD KILN_FORCEINLINE void offsets(int64_t linear, int64_t (&out)[N]) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t idx = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += idx * strides[k][d];
    }
  }

  // True when every operand is one dense run in row-major order (after merging).
  bool is_contiguous() const {
    if (ndim == 0) return true;
    if (ndim > 1) return false;
    for (int k = 0; k < N; ++k)
      if (strides[k][0] != 1) return false;
    return true;
  }
};

// Builds the merged description of `shape` with each operand's strides (operands must have
// been broadcast to `shape` already; broadcast dims have stride 0).
template <int N>
StridedOperands<N> make_strided(const Shape& shape, const Shape* const (&strides)[N]) {
  StridedOperands<N> s;
  s.numel = shape_numel(shape);
  // Drop size-1 dims, then merge neighbours that are contiguous with each other everywhere.
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (s.ndim > 0) {
      bool mergeable = true;
      for (int k = 0; k < N; ++k)
        if (s.strides[k][s.ndim - 1] != (*strides[k])[d] * shape[d]) mergeable = false;
      if (mergeable) {
        s.sizes[s.ndim - 1] *= shape[d];
        for (int k = 0; k < N; ++k) s.strides[k][s.ndim - 1] = (*strides[k])[d];
        continue;
      }
    }
    KILN_CHECK(s.ndim < kMaxDims, "elementwise op: more than ", kMaxDims, " non-mergeable dimensions");
    s.sizes[s.ndim] = shape[d];
    for (int k = 0; k < N; ++k) s.strides[k][s.ndim] = (*strides[k])[d];
    ++s.ndim;
  }
  return s;
}

}  // namespace kiln::kernels
