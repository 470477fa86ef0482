// Contract of the dropout kernels. The keep mask is never stored: element i of a dropout
// with Philox (seed, offset) is kept when its uniform draw u_i (core/philox.h, 24-bit float)
// satisfies u_i >= p, and backward recomputes the same mask from the same (seed, offset).
// Survivors are scaled by 1/(1-p). `group` elements share one draw: 1 for Dropout (every
// element independent), H*W for Dropout2d (a whole channel of a [N, C, H, W] tensor, draw
// index = element index / group). Outputs are assigned; in-place (y == x) is allowed.
#pragma once

#include <cstdint>

#include "core/philox_offset.h"

namespace kiln::kernels {

struct DropoutArgs {
  int64_t numel = 0;
  int64_t group = 1;
  double p = 0.5;
  uint64_t seed = 0;
  PhiloxOffset offset;  // resolved by the kernel (core/philox_offset.h)
};

namespace cpu {
// y = x * mask / (1-p); also used for backward with x = dy, y = dx.
template <typename T>
void dropout_apply(const DropoutArgs& a, const T* x, T* y);
}  // namespace cpu

namespace cuda {
template <typename T>
void dropout_apply(const DropoutArgs& a, const T* x, T* y);
}  // namespace cuda

}  // namespace kiln::kernels
