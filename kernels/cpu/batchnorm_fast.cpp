// See batchnorm_fast.h. The row helpers are compiled for AVX-512, AVX2 and the baseline, and
// the loader picks one (GCC target_clones); `omp simd reduction` lets the double sums split
// across lanes, which plain -O3 may not do (it would reassociate a floating-point sum).
#include "kernels/cpu/batchnorm_fast.h"

#include <cmath>

#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {

namespace {

KILN_SIMD_CLONES double row_sum(const float* p, int64_t n) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += p[i];
  return sum;
}

KILN_SIMD_CLONES double row_squared_deviation(const float* p, int64_t n, double mean) {
  double sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int64_t i = 0; i < n; ++i) {
    const double d = p[i] - mean;
    sq += d * d;
  }
  return sq;
}

KILN_SIMD_CLONES void row_normalize(const float* p, float* q, int64_t n, double mean, double invstd, double g,
                                    double b) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) q[i] = static_cast<float>((p[i] - mean) * invstd * g + b);
}

// sum(dy) and sum(dy * (x - mean)) of one row.
KILN_SIMD_CLONES void row_backward_sums(const float* g, const float* p, int64_t n, double mean,
                                        double* sum_dy, double* sum_dy_xc) {
  double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; ++i) {
    a += g[i];
    b += g[i] * (p[i] - mean);
  }
  *sum_dy += a;
  *sum_dy_xc += b;
}

KILN_SIMD_CLONES void row_dx(const float* g, const float* p, float* out, int64_t n, double mean,
                             double invstd, double k, double m, double sum_dy, double sum_dy_xhat) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const double xhat = (p[i] - mean) * invstd;
    out[i] = static_cast<float>(k * (m * g[i] - sum_dy - xhat * sum_dy_xhat));
  }
}

#undef KILN_SIMD_CLONES

}  // namespace

void batchnorm_forward_train_fast(const BatchNormShape& s, const float* x, const float* gamma,
                                  const float* beta, double eps, double momentum, float* y, float* save_mean,
                                  float* save_invstd, float* running_mean, float* running_var) {
  const int64_t M = s.n * s.hw;
#pragma omp parallel for schedule(static) if (s.n * s.c * s.hw > kParallelGrain)
  for (int64_t c = 0; c < s.c; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < s.n; ++n) sum += row_sum(x + (n * s.c + c) * s.hw, s.hw);
    const double mean = sum / M;
    double sq = 0;  // second pass: squared deviations, no cancellation
    for (int64_t n = 0; n < s.n; ++n) sq += row_squared_deviation(x + (n * s.c + c) * s.hw, s.hw, mean);
    const double var = sq / M;
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double g = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    for (int64_t n = 0; n < s.n; ++n)
      row_normalize(x + (n * s.c + c) * s.hw, y + (n * s.c + c) * s.hw, s.hw, mean, invstd, g, b);
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = static_cast<float>(invstd);
    if (running_mean)
      running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * mean);
    if (running_var) {
      const double unbiased = M > 1 ? var * M / (M - 1) : var;
      running_var[c] = static_cast<float>((1 - momentum) * running_var[c] + momentum * unbiased);
    }
  }
}

void batchnorm_backward_fast(const BatchNormShape& s, const float* dy, const float* x, const float* gamma,
                             const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                             float* dbeta) {
  const int64_t M = s.n * s.hw;
#pragma omp parallel for schedule(static) if (s.n * s.c * s.hw > kParallelGrain)
  for (int64_t c = 0; c < s.c; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    double sum_dy = 0, sum_dy_xc = 0;
    for (int64_t n = 0; n < s.n; ++n)
      row_backward_sums(dy + (n * s.c + c) * s.hw, x + (n * s.c + c) * s.hw, s.hw, mean, &sum_dy, &sum_dy_xc);
    const double sum_dy_xhat = sum_dy_xc * invstd;
    if (dgamma) dgamma[c] = static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[c] = static_cast<float>(sum_dy);
    if (!dx) continue;
    const double k = (gamma ? gamma[c] : 1.0) * invstd / M;
    for (int64_t n = 0; n < s.n; ++n)
      row_dx(dy + (n * s.c + c) * s.hw, x + (n * s.c + c) * s.hw, dx + (n * s.c + c) * s.hw, s.hw, mean,
             invstd, k, double(M), sum_dy, sum_dy_xhat);
  }
}

}  // namespace kiln::kernels::cpu
