// The per-element update of kernels/optimizer.h, shared by the CPU loop and the CUDA kernel.
#pragma once

#include <cmath>

#include "core/macros.h"
#include "kernels/optimizer.h"

namespace kiln::kernels {

// Per-step scalars computed once from t (bias corrections as PyTorch computes them).
struct StepScalars {
  double step_size = 0;  // Adam: lr / (1 - b1^t)
  double sqrt_bc2 = 0;   // Adam: sqrt(1 - b2^t)
  bool first = false;    // SGD: t == 1
};

KILN_HD inline StepScalars step_scalars(const OptimizerHyper& h, int64_t t) {
  StepScalars s;
  const double bc1 = 1.0 - pow(h.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - pow(h.beta2, static_cast<double>(t));
  s.step_size = h.lr / bc1;
  s.sqrt_bc2 = sqrt(bc2);
  s.first = t == 1;
  return s;
}

template <typename T>
KILN_HD KILN_FORCEINLINE void update_element(const OptimizerHyper& h, const StepScalars& s, T& p, T grad,
                                             T* state0, T* state1) {
  const T wd = static_cast<T>(h.weight_decay);
  if (h.kind == OptimizerKind::SGD) {
    T g = grad + wd * p;
    if (h.momentum != 0) {
      const T mu = static_cast<T>(h.momentum);
      const T b = s.first ? g : mu * *state0 + static_cast<T>(1 - h.dampening) * g;
      *state0 = b;
      g = h.nesterov ? g + mu * b : b;
    }
    p -= static_cast<T>(h.lr) * g;
    return;
  }
  T g = grad;
  if (h.kind == OptimizerKind::AdamW)
    p *= static_cast<T>(1 - h.lr * h.weight_decay);
  else
    g += wd * p;
  // 1 - beta is formed in double, as PyTorch's Python-float arithmetic does, then rounded.
  const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2);
  const T one_minus_b1 = static_cast<T>(1 - h.beta1), one_minus_b2 = static_cast<T>(1 - h.beta2);
  const T m = b1 * *state0 + one_minus_b1 * g;
  const T v = b2 * *state1 + one_minus_b2 * g * g;
  *state0 = m;
  *state1 = v;
  const T denom = sqrt(v) / static_cast<T>(s.sqrt_bc2) + static_cast<T>(h.eps);
  p -= static_cast<T>(s.step_size) * (m / denom);
}

}  // namespace kiln::kernels
