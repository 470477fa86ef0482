// Operands of the elementwise kernels as plain data, and the index arithmetic over them.
// Dimensions that are contiguous in every operand are merged first, so a contiguous or
// simply-sliced tensor costs one division per element (usually none: see is_contiguous).
#pragma once

#include <cstdint>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/macros.h"

namespace kiln::kernels {

// At most this many dimensions remain after merging (the CUDA indexer keeps them in registers).
inline constexpr int kMaxDims = 8;

// One operand of an elementwise kernel: its first element, dtype, device, and sizes and
// strides (in elements). The kernels never see the Tensor class; the op layer describes a
// tensor this way (core/ops/common.h). `sizes` and `strides` are borrowed for the call.
struct StridedArray {
  void* data = nullptr;
  DType dtype = DType::Float32;
  Device device;
  int ndim = 0;
  const int64_t* sizes = nullptr;
  const int64_t* strides = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= sizes[d];
    return n;
  }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  bool is_contiguous() const {
    int64_t expected = 1;
    for (int d = ndim; d-- > 0;) {
      if (sizes[d] == 1) continue;
      if (strides[d] != expected) return false;
      expected *= sizes[d];
    }
    return true;
  }
  template <typename T>
  T* as() const {
    KILN_CHECK(dtype == dtype_of<T>, "kernel operand holds ", dtype_name(dtype), ", accessed as ",
               dtype_name(dtype_of<T>));
    return static_cast<T*>(data);
  }
};

// Row-major strides of a dense array of these sizes.
inline std::vector<int64_t> dense_strides(int ndim, const int64_t* sizes) {
  std::vector<int64_t> strides(static_cast<size_t>(ndim));
  int64_t step = 1;
  for (int d = ndim; d-- > 0;) {
    strides[static_cast<size_t>(d)] = step;
    step *= sizes[d];
  }
  return strides;
}

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

// Builds the merged description of operands that share the first one's sizes (the op has
// broadcast them already: broadcast dims have stride 0).
template <int N>
StridedOperands<N> make_strided(const StridedArray* const (&operands)[N]) {
  const StridedArray& first = *operands[0];
  for (int k = 1; k < N; ++k)
    KILN_CHECK(operands[k]->ndim == first.ndim, "elementwise kernel: operands of ", first.ndim, " and ",
               operands[k]->ndim, " dims (the op must broadcast them to one shape)");
  StridedOperands<N> s;
  s.numel = first.numel();
  // Drop size-1 dims, then merge neighbours that are contiguous with each other everywhere.
  for (int d = 0; d < first.ndim; ++d) {
    const int64_t size = first.sizes[d];
    if (size == 1) continue;
    if (s.ndim > 0) {
      bool mergeable = true;
      for (int k = 0; k < N; ++k)
        if (s.strides[k][s.ndim - 1] != operands[k]->strides[d] * size) mergeable = false;
      if (mergeable) {
        s.sizes[s.ndim - 1] *= size;
        for (int k = 0; k < N; ++k) s.strides[k][s.ndim - 1] = operands[k]->strides[d];
        continue;
      }
    }
    KILN_CHECK(s.ndim < kMaxDims, "elementwise op: more than ", kMaxDims, " non-mergeable dimensions");
    s.sizes[s.ndim] = size;
    for (int k = 0; k < N; ++k) s.strides[k][s.ndim] = operands[k]->strides[d];
    ++s.ndim;
  }
  return s;
}

}  // namespace kiln::kernels
