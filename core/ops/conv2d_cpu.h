// The conv2d op's choice among the CPU convolution kernels, in one place so the benchmarks
// time exactly what the op runs: Winograd F(2x2, 3x3) where it applies, else the im2col
// variant with reused buffers, or the plain reference kernels everywhere when
// KILN_CPU_REFERENCE_KERNELS=1 (core/ops/cpu_variants.h).
#pragma once

#include "core/ops/cpu_variants.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_fast.h"
#include "kernels/cpu/conv2d_winograd.h"

namespace kiln {

template <typename T>
void conv2d_forward_cpu(const kernels::Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  if (!cpu_fast_kernels_enabled()) return kernels::cpu::conv2d_forward<T>(s, x, w, b, y);
  if (kernels::cpu::conv2d_winograd_applies(s))
    return kernels::cpu::conv2d_forward_winograd<T>(s, x, w, b, y);
  kernels::cpu::conv2d_forward_fast<T>(s, x, w, b, y);
}

template <typename T>
void conv2d_backward_input_cpu(const kernels::Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (!cpu_fast_kernels_enabled()) return kernels::cpu::conv2d_backward_input<T>(s, dy, w, dx);
  if (kernels::cpu::conv2d_winograd_applies(s))
    return kernels::cpu::conv2d_backward_input_winograd<T>(s, dy, w, dx);
  kernels::cpu::conv2d_backward_input_fast<T>(s, dy, w, dx);
}

template <typename T>
void conv2d_backward_weight_cpu(const kernels::Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  if (!cpu_fast_kernels_enabled()) return kernels::cpu::conv2d_backward_weight<T>(s, x, dy, dw, db);
  if (kernels::cpu::conv2d_winograd_applies(s))
    return kernels::cpu::conv2d_backward_weight_winograd<T>(s, x, dy, dw, db);
  kernels::cpu::conv2d_backward_weight_fast<T>(s, x, dy, dw, db);
}

}  // namespace kiln
