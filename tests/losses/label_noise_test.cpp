// DisturbLabel: the empirical class distribution passes a chi-square test against
// (p_c, p_i) at alpha = 30, C = 10; DisturbValue: exactly round(alpha N) samples change, by
// N(0, sigma^2) noise; the tutorial's draw; CPU and CUDA draws identical.
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops.h"
#include "losses/losses.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

TEST(DisturbLabel, ChiSquareAgainstTheMultinoulli) {
  // alpha = 30%, C = 10: p_c = 1 - 9/10 * 0.3 = 0.73, p_i = 0.27 / 9 = 0.03.
  const int64_t n = 200000, C = 10, label = 5;
  Generator gen(2024);
  const Tensor labels = Tensor::full({n}, label, DType::Int64);
  const auto out = disturb_label(labels, C, 30.0, gen).to_vector<int64_t>();
  std::vector<double> counts(C, 0.0);
  for (int64_t v : out) {
    ASSERT_GE(v, 0);
    ASSERT_LT(v, C);
    counts[v] += 1;
  }
  double chi2 = 0;
  for (int64_t k = 0; k < C; ++k) {
    const double expected = n * (k == label ? 0.73 : 0.03);
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  // 9 degrees of freedom: P(chi2 > 27.88) = 0.001.
  EXPECT_LT(chi2, 27.88) << "kept fraction " << counts[label] / n;
}

TEST(DisturbLabel, FreshDrawsPerCallAndEdgeRates) {
  Generator gen(1);
  const Tensor labels = Tensor::from_vector<int64_t>(std::vector<int64_t>(64, 2), {64});
  const Tensor a = disturb_label(labels, 10, 50, gen), b = disturb_label(labels, 10, 50, gen);
  EXPECT_GT(max_abs_diff(a, b), 0);  // a new mini-batch gets new noise
  EXPECT_EQ(disturb_label(labels, 10, 0, gen).to_vector<int64_t>(), labels.to_vector<int64_t>());
  EXPECT_THROW(disturb_label(labels, 10, 101, gen), Error);
  EXPECT_THROW(disturb_label(Tensor::from_vector<int64_t>({10}, {1}), 10, 10, gen), Error);
}

TEST(DisturbValue, ExactlyRoundAlphaNSamplesGetNoise) {
  for (int64_t n : {1, 5, 32, 33, 506}) {
    for (double alpha : {0.0, 0.3, 0.5, 1.0}) {
      Generator gen(7);
      const Tensor t = testing::random_uniform({n, 1}, 3, 0.0, 1.0, DType::Float32);
      const Tensor d = disturb_value(t, alpha, 0.1, gen);
      const auto vt = t.to_vector<float>(), vd = d.to_vector<float>();
      int64_t changed = 0;
      for (int64_t i = 0; i < n; ++i) changed += vt[i] != vd[i];
      EXPECT_EQ(changed, static_cast<int64_t>(std::nearbyint(alpha * n))) << "n " << n << " alpha " << alpha;
    }
  }
}

TEST(DisturbValue, NoiseHasTheRequestedSpread) {
  Generator gen(9);
  const int64_t n = 100000;
  const Tensor t = Tensor::zeros({n}, DType::Float64);
  const auto v = disturb_value(t, 0.5, 2.0, gen).to_vector<double>();
  double sum = 0, sq = 0;
  int64_t k = 0;
  for (double x : v)
    if (x != 0) {
      sum += x;
      sq += x * x;
      ++k;
    }
  EXPECT_EQ(k, n / 2);
  EXPECT_NEAR(sum / k, 0.0, 5 * 2.0 / std::sqrt(double(k)));
  EXPECT_NEAR(sq / k, 4.0, 5 * 4.0 * std::sqrt(2.0 / k));
}

TEST(DisturbValue, TutorialSelectionZeroesDrawsWithReplacement) {
  // int(32 * 0.7) = 22 draws with replacement zero at most 22 noises, usually fewer distinct
  // ones, so MORE than 30% of the batch stays noisy: the bug the tutorial's code has.
  Generator gen(5);
  const Tensor t = Tensor::zeros({32}, DType::Float64);
  int64_t noisy_total = 0;
  const int trials = 200;
  for (int i = 0; i < trials; ++i) {
    const auto v =
        disturb_value(t, 0.3, 1.0, gen, kernels::DisturbValueSelection::TutorialZeroing).to_vector<double>();
    int64_t noisy = 0;
    for (double x : v) noisy += x != 0;
    EXPECT_GE(noisy, 32 - 22);
    noisy_total += noisy;
  }
  // Expected noisy count: 32 * (31/32)^22 = 15.6, far above round(0.3 * 32) = 10.
  EXPECT_NEAR(double(noisy_total) / trials, 32 * std::pow(31.0 / 32, 22), 0.5);
}

TEST(LabelNoise, CudaDrawsEqualCpuDraws) {
  KILN_REQUIRE_CUDA();
  Generator gc(3), gg(3);
  std::vector<int64_t> l;
  for (int i = 0; i < 1000; ++i) l.push_back(i % 10);
  const Tensor labels = Tensor::from_vector(l, {1000});
  EXPECT_TRUE(testing::bit_equal(disturb_label(labels, 10, 30, gc),
                                 disturb_label(labels.to(Device::cuda()), 10, 30, gg)));
  const Tensor t = testing::random_uniform({300, 2}, 4, 0, 1, DType::Float32);
  for (auto selection :
       {kernels::DisturbValueSelection::ExactCount, kernels::DisturbValueSelection::TutorialZeroing})
    EXPECT_TRUE(testing::bit_equal(disturb_value(t, 0.3, 0.5, gc, selection),
                                   disturb_value(t.to(Device::cuda()), 0.3, 0.5, gg, selection)));
}

}  // namespace
}  // namespace kiln
