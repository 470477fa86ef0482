// Contract of the 2-D batch normalisation kernels, x [N, C, H, W] (M = N*H*W per channel).
//  - forward_train: per-channel batch mean and biased variance computed stably, never as
//    E[x^2] - E[x]^2 (CPU: two passes in double; CUDA: Welford per thread merged with Chan's
//    formula in a fixed order), y = (x - mean) * invstd * gamma
//    + beta with invstd = 1/sqrt(var + eps). Saves mean and invstd [C] for backward. Updates
//    running_mean/var in place when they are non-null: r = (1 - momentum) r + momentum b,
//    using the UNBIASED variance var * M/(M-1) for running_var (as PyTorch).
//  - forward_eval: y from running statistics.
//  - backward: from dy, x and the saved mean/invstd: dgamma = sum(dy * xhat),
//    dbeta = sum(dy), dx = gamma * invstd / M * (M dy - dbeta - xhat dgamma). All three
//    outputs are assigned; dgamma/dbeta may be null when not needed.
// gamma and beta may be null (affine = false): treated as 1 and 0.
#pragma once

#include <cstdint>

namespace kiln::kernels {

struct BatchNormShape {
  int64_t n = 0, c = 0, hw = 0;  // hw = H*W (1 for a [N, C] input)
};

namespace cpu {
template <typename T>
void batchnorm_forward_train(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, double eps,
                             double momentum, T* y, T* save_mean, T* save_invstd, T* running_mean,
                             T* running_var);
template <typename T>
void batchnorm_forward_eval(const BatchNormShape& s, const T* x, const T* gamma, const T* beta,
                            const T* running_mean, const T* running_var, double eps, T* y);
template <typename T>
void batchnorm_backward(const BatchNormShape& s, const T* dy, const T* x, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta);
}  // namespace cpu

namespace cuda {
template <typename T>
void batchnorm_forward_train(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, double eps,
                             double momentum, T* y, T* save_mean, T* save_invstd, T* running_mean,
                             T* running_var);
template <typename T>
void batchnorm_forward_eval(const BatchNormShape& s, const T* x, const T* gamma, const T* beta,
                            const T* running_mean, const T* running_var, double eps, T* y);
template <typename T>
void batchnorm_backward(const BatchNormShape& s, const T* dy, const T* x, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta);
}  // namespace cuda

}  // namespace kiln::kernels
