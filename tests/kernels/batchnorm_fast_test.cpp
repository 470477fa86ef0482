// The CPU batch-norm kernels called directly in float32 — the reference loops
// (kernels/cpu/batchnorm.cpp) and the SIMD variant the op chooses (kernels/cpu/batchnorm_fast.h)
// — against the definition in float64: training forward (y, saved mean and invstd, running
// statistics) and backward (dx, dgamma, dbeta), outputs pre-filled with NaN (they assign), rows
// whose length is and is not a multiple of the SIMD width, an offset, cancellation-prone input,
// and null gamma/beta/running statistics (affine = false, no tracking).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/batchnorm.h"
#include "kernels/cpu/batchnorm_fast.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using kernels::BatchNormShape;

struct Expected {
  std::vector<double> y, mean, invstd, run_mean, run_var, dx, dgamma, dbeta;
};

Expected definition(const BatchNormShape& s, const std::vector<double>& x, const std::vector<double>& gamma,
                    const std::vector<double>& beta, const std::vector<double>& dy, double eps,
                    double momentum, const std::vector<double>& run_mean,
                    const std::vector<double>& run_var) {
  Expected e;
  e.y.resize(x.size());
  e.dx.resize(x.size());
  const double M = double(s.n * s.hw);
  for (int64_t c = 0; c < s.c; ++c) {
    double mean = 0, var = 0;
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t i = 0; i < s.hw; ++i) mean += x[(n * s.c + c) * s.hw + i];
    mean /= M;
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t i = 0; i < s.hw; ++i) var += std::pow(x[(n * s.c + c) * s.hw + i] - mean, 2);
    var /= M;
    const double inv = 1 / std::sqrt(var + eps);
    double sdy = 0, sdyx = 0;
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t i = 0; i < s.hw; ++i) {
        const int64_t k = (n * s.c + c) * s.hw + i;
        const double xhat = (x[k] - mean) * inv;
        e.y[k] = xhat * gamma[c] + beta[c];
        sdy += dy[k];
        sdyx += dy[k] * xhat;
      }
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t i = 0; i < s.hw; ++i) {
        const int64_t k = (n * s.c + c) * s.hw + i;
        e.dx[k] = gamma[c] * inv / M * (M * dy[k] - sdy - (x[k] - mean) * inv * sdyx);
      }
    e.mean.push_back(mean);
    e.invstd.push_back(inv);
    e.run_mean.push_back((1 - momentum) * run_mean[c] + momentum * mean);
    e.run_var.push_back((1 - momentum) * run_var[c] + momentum * var * M / (M - 1));
    e.dgamma.push_back(sdyx);
    e.dbeta.push_back(sdy);
  }
  return e;
}

using ForwardFn = void (*)(const BatchNormShape&, const float*, const float*, const float*, double, double,
                           float*, float*, float*, float*, float*);
using BackwardFn = void (*)(const BatchNormShape&, const float*, const float*, const float*, const float*,
                            const float*, float*, float*, float*);

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }
std::vector<float> narrow(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

void check(ForwardFn forward, BackwardFn backward, const BatchNormShape& s, double offset, bool affine,
           const char* what) {
  const double eps = 1e-5, momentum = 0.1;
  const int64_t size = s.n * s.c * s.hw;
  auto x = narrow(testing::random_normal({size}, 1).to_vector<double>());
  for (float& v : x) v = static_cast<float>(v + offset);
  const auto dy = narrow(testing::random_normal({size}, 2).to_vector<double>());
  auto gamma = narrow(testing::random_normal({s.c}, 3).to_vector<double>());
  auto beta = narrow(testing::random_normal({s.c}, 4).to_vector<double>());
  if (!affine) {
    gamma.assign(s.c, 1.0f);
    beta.assign(s.c, 0.0f);
  }
  std::vector<float> run_mean(s.c, 0.5f), run_var(s.c, 2.0f);
  const Expected e = definition(s, widen(x), widen(gamma), widen(beta), widen(dy), eps, momentum,
                                widen(run_mean), widen(run_var));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y(size, nan), mean(s.c, nan), invstd(s.c, nan), dx(size, nan), dgamma(s.c, nan),
      dbeta(s.c, nan);
  forward(s, x.data(), affine ? gamma.data() : nullptr, affine ? beta.data() : nullptr, eps, momentum,
          y.data(), mean.data(), invstd.data(), affine ? run_mean.data() : nullptr,
          affine ? run_var.data() : nullptr);
  backward(s, dy.data(), x.data(), affine ? gamma.data() : nullptr, mean.data(), invstd.data(), dx.data(),
           dgamma.data(), dbeta.data());
  // float32 values of O(1) after a few roundings, statistics summed in double: 2e-5 absolute
  // and relative (as tests/kernels/batchnorm_test.cpp). The offset input keeps that tolerance
  // relative to the offset for the mean.
  const double tol = 2e-5;
  EXPECT_TRUE(testing::all_close(widen(y), e.y, tol, tol)) << what << " y";
  EXPECT_TRUE(testing::all_close(widen(mean), e.mean, tol * (1 + std::abs(offset)), tol)) << what << " mean";
  EXPECT_TRUE(testing::all_close(widen(invstd), e.invstd, tol, tol)) << what << " invstd";
  if (affine) {
    EXPECT_TRUE(testing::all_close(widen(run_mean), e.run_mean, tol * (1 + std::abs(offset)), tol)) << what;
    EXPECT_TRUE(testing::all_close(widen(run_var), e.run_var, tol, tol)) << what << " running var";
  }
  EXPECT_TRUE(testing::all_close(widen(dx), e.dx, tol, tol)) << what << " dx";
  EXPECT_TRUE(testing::all_close(widen(dgamma), e.dgamma, tol * std::sqrt(double(s.n * s.hw)), tol)) << what;
  EXPECT_TRUE(testing::all_close(widen(dbeta), e.dbeta, tol * std::sqrt(double(s.n * s.hw)), tol)) << what;
}

const BatchNormShape kShapes[] = {{4, 3, 30}, {2, 64, 256}, {32, 8, 4}, {8, 16, 1}, {3, 5, 17}, {32, 4, 64}};

TEST(BatchNormCpuKernels, ReferenceMatchesDefinition) {
  for (const BatchNormShape& s : kShapes) {
    check(kernels::cpu::batchnorm_forward_train<float>, kernels::cpu::batchnorm_backward<float>, s, 0.0, true,
          "ref");
    check(kernels::cpu::batchnorm_forward_train<float>, kernels::cpu::batchnorm_backward<float>, s, 100.0,
          false, "ref offset");
  }
}

TEST(BatchNormCpuKernels, FastVariantMatchesDefinition) {
  for (const BatchNormShape& s : kShapes) {
    check(kernels::cpu::batchnorm_forward_train_fast, kernels::cpu::batchnorm_backward_fast, s, 0.0, true,
          "fast");
    check(kernels::cpu::batchnorm_forward_train_fast, kernels::cpu::batchnorm_backward_fast, s, 100.0, false,
          "fast offset");
  }
}

}  // namespace
}  // namespace kiln
