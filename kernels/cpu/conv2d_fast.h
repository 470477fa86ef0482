// Faster CPU variants of the convolution kernels (contract: kernels/conv2d.h), the same
// algorithm as the reference in kernels/cpu/conv2d.cpp (im2col + one OpenBLAS GEMM per chunk
// of the batch) with the time outside the GEMM cut: im2col and col2im work a row segment at a
// time (bounds found once per row, interior copied or added as a contiguous run), the column
// and staging buffers are reused from call to call instead of allocated and zero-filled, and
// dx is cleared plane by plane inside col2im's parallel loop. The reference stays the
// definition; the ops choose these (core/ops/cpu_variants.h).
#pragma once

#include "kernels/conv2d.h"

namespace kiln::kernels::cpu {

template <typename T>
void conv2d_forward_fast(const Conv2dShape& shape, const T* x, const T* weight, const T* bias, T* y);
template <typename T>
void conv2d_backward_input_fast(const Conv2dShape& shape, const T* dy, const T* weight, T* dx);
template <typename T>
void conv2d_backward_weight_fast(const Conv2dShape& shape, const T* x, const T* dy, T* dweight, T* dbias);

}  // namespace kiln::kernels::cpu
