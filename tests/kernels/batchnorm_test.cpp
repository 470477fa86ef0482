// Batch normalisation against float64 formulas (batch statistics, biased/unbiased
// variance, running-statistics momentum, eval mode, the closed-form backward), a
// cancellation-prone input, the gradient checker, and CUDA against the CPU.
#include <gtest/gtest.h>

#include <cmath>

#include "core/nn.h"
#include "core/ops.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::random_normal;

struct BnRef {
  std::vector<double> y, mean, var, dx, dgamma, dbeta;
};

// Straight from the definition: per channel c over n, h, w.
BnRef bn_ref(const std::vector<double>& x, int64_t N, int64_t C, int64_t HW, const std::vector<double>& gamma,
             const std::vector<double>& beta, const std::vector<double>& dy, double eps) {
  BnRef r;
  r.y.assign(x.size(), 0);
  r.dx.assign(x.size(), 0);
  const double M = double(N * HW);
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) mean += x[(n * C + c) * HW + i] / M;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) var += std::pow(x[(n * C + c) * HW + i] - mean, 2) / M;
    const double inv = 1 / std::sqrt(var + eps);
    double sdy = 0, sdyx = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t e = (n * C + c) * HW + i;
        const double xhat = (x[e] - mean) * inv;
        r.y[e] = xhat * gamma[c] + beta[c];
        sdy += dy[e];
        sdyx += dy[e] * xhat;
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t e = (n * C + c) * HW + i;
        const double xhat = (x[e] - mean) * inv;
        r.dx[e] = gamma[c] * inv / M * (M * dy[e] - sdy - xhat * sdyx);
      }
    r.mean.push_back(mean);
    r.var.push_back(var);
    r.dgamma.push_back(sdyx);
    r.dbeta.push_back(sdy);
  }
  return r;
}

class BatchNormTest : public ::testing::TestWithParam<testing::DeviceDType> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam().device); }
  Tensor normal(const Shape& s, uint64_t seed) const {
    return random_normal(s, seed, GetParam().dtype, GetParam().device);
  }
  // float32: one normalisation is a few roundings of O(1) values plus statistics over M
  // terms; 2e-5 covers M up to a few thousand.
  double tol() const { return GetParam().dtype == DType::Float32 ? 2e-5 : 1e-11; }
};

TEST_P(BatchNormTest, TrainingForwardBackwardAndRunningStats) {
  struct Case {
    int64_t n, c, h, w;
  };
  // {32, 4, 16, 16} has 8192 values per channel: the CUDA kernels split each channel over
  // several blocks and merge the partial statistics.
  for (const Case& t : {Case{4, 3, 5, 6}, Case{8, 16, 1, 1}, Case{2, 64, 16, 16}, Case{32, 4, 16, 16}}) {
    const int64_t hw = t.h * t.w;
    const Shape xs = t.h * t.w == 1 && t.c == 16 ? Shape{t.n, t.c} : Shape{t.n, t.c, t.h, t.w};
    const Tensor x = add(mul(normal(xs, 1), 3.0), 2.0);  // mean 2, sd 3
    Tensor gamma = normal({t.c}, 2).set_requires_grad(true), beta = normal({t.c}, 3).set_requires_grad(true);
    Tensor rm = Tensor::full({t.c}, 0.5, x.dtype(), x.device()),
           rv = Tensor::full({t.c}, 2.0, x.dtype(), x.device());
    Tensor xg = x.clone().set_requires_grad(true);
    const Tensor y = batch_norm(xg, rm, rv, gamma, beta, Phase::Train, 0.1, 1e-5);
    const Tensor dy = normal(xs, 4);
    y.backward(dy);
    const BnRef ref = bn_ref(x.to_vector<double>(), t.n, t.c, hw, gamma.to_vector<double>(),
                             beta.to_vector<double>(), dy.to_vector<double>(), 1e-5);
    EXPECT_TRUE(all_close(y, ref.y, tol(), tol()));
    EXPECT_TRUE(all_close(xg.grad(), ref.dx, tol(), tol()));
    EXPECT_TRUE(all_close(gamma.grad(), ref.dgamma, tol() * 10, tol()));
    EXPECT_TRUE(all_close(beta.grad(), ref.dbeta, tol() * 10, tol()));
    // running = 0.9 * old + 0.1 * batch statistic, with the unbiased variance M/(M-1) var.
    const double M = double(t.n * hw);
    std::vector<double> want_rm, want_rv;
    for (int64_t c = 0; c < t.c; ++c) {
      want_rm.push_back(0.9 * 0.5 + 0.1 * ref.mean[c]);
      want_rv.push_back(0.9 * 2.0 + 0.1 * ref.var[c] * M / (M - 1));
    }
    EXPECT_TRUE(all_close(rm, want_rm, tol(), tol()));
    EXPECT_TRUE(all_close(rv, want_rv, tol() * 10, tol()));
  }
}

TEST_P(BatchNormTest, EvalUsesRunningStatistics) {
  const Tensor x = normal({3, 4, 2, 2}, 5);
  const Tensor rm = normal({4}, 6), rv = add(square(normal({4}, 7)), 0.5);
  const Tensor gamma = normal({4}, 8), beta = normal({4}, 9);
  const Tensor y = batch_norm(x, rm, rv, gamma, beta, Phase::Eval, 0.1, 1e-5);
  const auto vx = x.to_vector<double>(), m = rm.to_vector<double>(), v = rv.to_vector<double>(),
             g = gamma.to_vector<double>(), b = beta.to_vector<double>();
  std::vector<double> want;
  for (int64_t e = 0; e < x.numel(); ++e) {
    const int64_t c = (e / 4) % 4;
    want.push_back((vx[e] - m[c]) / std::sqrt(v[c] + 1e-5) * g[c] + b[c]);
  }
  EXPECT_TRUE(all_close(y, want, tol(), tol()));
}

TEST_P(BatchNormTest, LargeOffsetDoesNotCancel) {
  // Values 1e4 + N(0, 1): E[x^2] - E[x]^2 in float32 would lose every significant digit of
  // the variance (1e8 +- 1 at 2^-24 relative precision); a stable method keeps var ~ 1.
  const Tensor x = add(normal({64, 2, 8, 8}, 10), 1e4);
  Tensor rm = Tensor::zeros({2}, x.dtype(), x.device()), rv = Tensor::ones({2}, x.dtype(), x.device());
  const Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), Phase::Train, 1.0, 1e-5);
  const auto vy = y.to_vector<double>();
  double sq = 0;
  for (double v : vy) sq += v * v;
  EXPECT_NEAR(sq / vy.size(), 1.0, 1e-3);  // normalised output has unit variance
  for (double v : rv.to_vector<double>()) EXPECT_NEAR(v, 1.0, 0.1);
}

TEST_P(BatchNormTest, NormalisesPreciselyFarFromZero) {
  // mean 1e4, sd 0.01: |mean| / sd = 1e6. Folding the mean into a shift (x*scale + (b -
  // mean*scale)) would add float rounding of mean*scale ~ 1e6 * 2^-24 = 0.06 to every output;
  // (x - mean) * scale keeps the error at the level of the input's own rounding.
  const Tensor x = add(mul(normal({16, 2, 4, 4}, 20), 0.01), 1e4);
  const auto vx = x.to_vector<double>();  // the values actually stored (rounded to the dtype)
  const Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), Phase::Train, 0.1, 1e-12);
  const BnRef ref = bn_ref(vx, 16, 2, 16, {1, 1}, {0, 0}, std::vector<double>(vx.size(), 0), 1e-12);
  // float32: x itself is stored to 2^-24 * 1e4 = 6e-4, i.e. 0.06 sd; normalised values carry
  // that input rounding plus a few ulps, so 0.1 absolute separates the two methods.
  EXPECT_TRUE(all_close(y, ref.y, GetParam().dtype == DType::Float32 ? 2e-3 : 1e-7, 0));
}

INSTANTIATE_TEST_SUITE_P(AllDevices, BatchNormTest, ::testing::ValuesIn(testing::all_device_dtypes()),
                         testing::device_dtype_name);

TEST(BatchNorm, GradientCheck) {
  const auto x = random_normal({3, 2, 3, 2}, 11).set_requires_grad(true);
  const auto g = random_normal({2}, 12).set_requires_grad(true),
             b = random_normal({2}, 13).set_requires_grad(true);
  EXPECT_TRUE(testing::gradcheck(
      [](const auto& v) { return batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], Phase::Train, 0.1, 1e-5); },
      {x, g, b}));
  const Tensor rm = random_normal({2}, 14), rv = add(square(random_normal({2}, 15)), 0.5);
  EXPECT_TRUE(testing::gradcheck(
      [&](const auto& v) { return batch_norm(v[0], rm, rv, v[1], v[2], Phase::Eval); }, {x, g, b}));
}

TEST(BatchNorm, BadArgumentsAreErrors) {
  const Tensor x = Tensor::zeros({2, 3, 4, 4});
  EXPECT_THROW(batch_norm(x, Tensor::zeros({4}), Tensor::ones({3}), Tensor(), Tensor(), Phase::Train), Error);
  EXPECT_THROW(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), Phase::Eval),
               Error);  // eval without stats
  EXPECT_THROW(batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), Phase::Train),
               Error);  // 1 value
}

}  // namespace
}  // namespace kiln
