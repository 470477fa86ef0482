// CPU batch normalisation (contract: kernels/batchnorm.h): per-channel sums in double.
#include <cmath>

#include "kernels/batchnorm.h"
#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {

template <typename T>
void batchnorm_forward_train(const BatchNormShape& s, const T* x, const T* gamma, const T* beta, double eps,
                             double momentum, T* y, T* save_mean, T* save_invstd, T* running_mean,
                             T* running_var) {
  const int64_t M = s.n * s.hw;
#pragma omp parallel for schedule(static) if (s.n * s.c * s.hw > kParallelGrain)
  for (int64_t c = 0; c < s.c; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* p = x + (n * s.c + c) * s.hw;
      for (int64_t i = 0; i < s.hw; ++i) sum += p[i];
    }
    const double mean = sum / M;
    double sq = 0;  // second pass: squared deviations, no cancellation
    for (int64_t n = 0; n < s.n; ++n) {
      const T* p = x + (n * s.c + c) * s.hw;
      for (int64_t i = 0; i < s.hw; ++i) sq += (p[i] - mean) * (p[i] - mean);
    }
    const double var = sq / M;
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* p = x + (n * s.c + c) * s.hw;
      T* q = y + (n * s.c + c) * s.hw;
      for (int64_t i = 0; i < s.hw; ++i) q[i] = static_cast<T>((p[i] - mean) * invstd * g + b);
    }
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
    if (running_mean) running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean);
    if (running_var) {
      const double unbiased = M > 1 ? var * M / (M - 1) : var;
      running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * unbiased);
    }
  }
}

template <typename T>
void batchnorm_forward_eval(const BatchNormShape& s, const T* x, const T* gamma, const T* beta,
                            const T* running_mean, const T* running_var, double eps, T* y) {
#pragma omp parallel for schedule(static) if (s.n * s.c * s.hw > kParallelGrain)
  for (int64_t c = 0; c < s.c; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    const double scale = g * invstd, mean = running_mean[c];
    for (int64_t n = 0; n < s.n; ++n) {
      const T* p = x + (n * s.c + c) * s.hw;
      T* q = y + (n * s.c + c) * s.hw;
      for (int64_t i = 0; i < s.hw; ++i) q[i] = static_cast<T>((p[i] - mean) * scale + b);
    }
  }
}

template <typename T>
void batchnorm_backward(const BatchNormShape& s, const T* dy, const T* x, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
  const int64_t M = s.n * s.hw;
#pragma omp parallel for schedule(static) if (s.n * s.c * s.hw > kParallelGrain)
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* g = dy + (n * s.c + c) * s.hw;
      const T* p = x + (n * s.c + c) * s.hw;
      for (int64_t i = 0; i < s.hw; ++i) {
        sum_dy += g[i];
        sum_dy_xhat += g[i] * (p[i] - mean) * invstd;
      }
    }
    if (dgamma) dgamma[c] = static_cast<T>(sum_dy_xhat);
    if (dbeta) dbeta[c] = static_cast<T>(sum_dy);
    if (!dx) continue;
    const double k = (gamma ? gamma[c] : 1.0) * invstd / M;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* g = dy + (n * s.c + c) * s.hw;
      const T* p = x + (n * s.c + c) * s.hw;
      T* out = dx + (n * s.c + c) * s.hw;
      for (int64_t i = 0; i < s.hw; ++i) {
        const double xhat = (p[i] - mean) * invstd;
        out[i] = static_cast<T>(k * (M * g[i] - sum_dy - xhat * sum_dy_xhat));
      }
    }
  }
}

#define KILN_INSTANTIATE(T)                                                                              \
  template void batchnorm_forward_train<T>(const BatchNormShape&, const T*, const T*, const T*, double,  \
                                           double, T*, T*, T*, T*, T*);                                  \
  template void batchnorm_forward_eval<T>(const BatchNormShape&, const T*, const T*, const T*, const T*, \
                                          const T*, double, T*);                                         \
  template void batchnorm_backward<T>(const BatchNormShape&, const T*, const T*, const T*, const T*,     \
                                      const T*, T*, T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
