// The CUDA batch-norm arithmetic (kernels/batchnorm_math.h) run on the host, in the order the
// kernels run it (per-thread shifted sums, a fixed 256-wide merge tree per block, the blocks'
// partials merged in split order, the mean subtracted in two float steps), on data far from
// zero (mean 1e4, sd 0.01), against statistics and outputs computed in float64 from the same
// float inputs.
#include "kernels/batchnorm_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace kiln {
namespace {

namespace bn = kernels::bn;
constexpr int kThreads = 256;  // as kernels/cuda/batchnorm.cu

// One channel's statistics as the two CUDA training kernels compute them.
bn::Moments kernel_statistics(const std::vector<float>& x, int splits) {
  const int64_t m = static_cast<int64_t>(x.size());
  const double shift = x[0];
  std::vector<bn::Moments> partials;
  for (int split = 0; split < splits; ++split) {
    const int64_t chunk = (m + splits - 1) / splits, begin = split * chunk, end = std::min(m, begin + chunk);
    std::vector<bn::Moments> block(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      bn::ShiftedSums sums;
      for (int64_t j = begin + t; j < end; j += kThreads) sums.add(x[j], shift);
      block[t] = sums.moments(shift);
    }
    for (int step = kThreads / 2; step > 0; step >>= 1)
      for (int t = 0; t < step; ++t) bn::merge(block[t], block[t + step]);
    partials.push_back(block[0]);
  }
  bn::Moments all;
  for (const bn::Moments& p : partials) bn::merge(all, p);
  return all;
}

struct Exact {
  double mean, var;
};
Exact exact_statistics(const std::vector<float>& x) {
  double sum = 0;
  for (float v : x) sum += v;
  const double mean = sum / x.size();
  double ss = 0;
  for (float v : x) ss += (v - mean) * (v - mean);
  return {mean, ss / x.size()};
}

std::vector<float> far_from_zero(int64_t m, uint64_t seed, double mean = 1e4, double sd = 0.01) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(mean, sd);
  std::vector<float> x(m);
  for (float& v : x) v = static_cast<float>(normal(rng));
  return x;
}

TEST(BatchNormMath, StatisticsFarFromZeroMatchFloat64) {
  // (elements per channel, splits): one element per thread, several per thread, several blocks.
  for (auto [m, splits] : {std::pair<int64_t, int>{256, 1}, {4096, 1}, {65536, 32}, {100003, 7}}) {
    const std::vector<float> x = far_from_zero(m, 1 + m);
    const bn::Moments got = kernel_statistics(x, splits);
    const Exact want = exact_statistics(x);
    EXPECT_EQ(got.count, static_cast<double>(m));
    // The mean to a tiny fraction of one standard deviation, the variance to 1e-6 relative.
    EXPECT_NEAR(got.mean, want.mean, 1e-9 * std::sqrt(want.var)) << m;
    EXPECT_NEAR(got.m2 / got.count, want.var, 1e-6 * want.var) << m;
  }
}

TEST(BatchNormMath, NormalisedOutputsFarFromZeroMatchFloat64) {
  // The case of the CUDA test NormalisesPreciselyFarFromZero (256 values per channel), and a
  // larger one: outputs to 2e-3, i.e. the input's own float rounding (6e-4 / 0.01 sd = 0.06 sd
  // is the spacing of representable inputs; the normalised value of a stored input is exact
  // to a few ulps once mean and scale are right).
  for (int64_t m : {256, 65536}) {
    const std::vector<float> x = far_from_zero(m, 7 + m);
    const bn::Moments st = kernel_statistics(x, m > 4096 ? 16 : 1);
    const double eps = 1e-12, invstd = 1.0 / std::sqrt(st.m2 / st.count + eps);
    const auto mean = bn::split<float>(st.mean);
    const float scale = static_cast<float>(invstd), shift = 0.f;
    const Exact want = exact_statistics(x);
    double worst = 0;
    for (float v : x) {
      const double y = bn::normalize<float>(v, mean, scale, shift);
      const double ref = (v - want.mean) / std::sqrt(want.var + eps);
      worst = std::max(worst, std::abs(y - ref));
    }
    EXPECT_LT(worst, 2e-3) << m;
  }
}

TEST(BatchNormMath, TheDataDefeatsFloatAccumulation) {
  // Guard against an easy test: on the same data and tree, the same merge carried out in
  // float (one value per thread, Chan's formula up a 256-wide tree, the float mean then
  // subtracted) misses by several times the 2e-3 the double path is held to above.
  const std::vector<float> x = far_from_zero(256, 264, 10000.3);
  const Exact want = exact_statistics(x);
  std::vector<float> n(kThreads, 1.f), mean(x.begin(), x.end()), m2(kThreads, 0.f);
  for (int step = kThreads / 2; step > 0; step >>= 1)
    for (int t = 0; t < step; ++t) {
      const float nb = n[t + step], total = n[t] + nb, delta = mean[t + step] - mean[t];
      mean[t] = mean[t] + delta * (nb / total);
      m2[t] = m2[t] + m2[t + step] + delta * delta * (n[t] * nb / total);
      n[t] = total;
    }
  const double sd = std::sqrt(want.var);
  double worst = 0;
  for (float v : x) worst = std::max(worst, std::abs(double(v - mean[0]) / sd - (v - want.mean) / sd));
  EXPECT_GT(worst, 5e-3);
}

TEST(BatchNormMath, ConstantChannelHasZeroVariance) {
  const std::vector<float> x(1000, 12345.678f);
  const bn::Moments st = kernel_statistics(x, 3);
  EXPECT_EQ(st.mean, static_cast<double>(x[0]));
  EXPECT_EQ(st.m2, 0.0);
}

TEST(BatchNormMath, EvalChannelConstantsMatchFloat64) {
  const double running_mean = 10000.123456789, running_var = 2.5e-5, gamma = 1.7, beta = -0.3, eps = 1e-5;
  const auto k = bn::eval_channel<float>(running_mean, running_var, gamma, beta, eps);
  const double scale = gamma / std::sqrt(running_var + eps);
  for (float v : far_from_zero(64, 3, running_mean, 0.005)) {
    const double ref = (v - running_mean) * scale + beta;
    EXPECT_NEAR(bn::normalize<float>(v, k.mean, k.scale, k.shift), ref, 1e-5 * (1 + std::abs(ref)));
  }
}

}  // namespace
}  // namespace kiln
