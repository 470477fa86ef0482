// Faster CPU variants of batch normalisation's training forward and backward for float32
// (contract: kernels/batchnorm.h). Same passes and double-precision statistics as the
// reference in kernels/cpu/batchnorm.cpp, but each pass over a channel's rows runs in SIMD
// lanes (AVX-512 or AVX2, chosen when the program loads), with the per-channel sums split
// across lanes: a reassociated double sum, which moves results by double rounding only. The
// reference stays the definition; the batch_norm op chooses these for float32 on the CPU.
#pragma once

#include "kernels/batchnorm.h"

namespace kiln::kernels::cpu {

void batchnorm_forward_train_fast(const BatchNormShape& s, const float* x, const float* gamma,
                                  const float* beta, double eps, double momentum, float* y, float* save_mean,
                                  float* save_invstd, float* running_mean, float* running_var);
void batchnorm_backward_fast(const BatchNormShape& s, const float* dy, const float* x, const float* gamma,
                             const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                             float* dbeta);

}  // namespace kiln::kernels::cpu
