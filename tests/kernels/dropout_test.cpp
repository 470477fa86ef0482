// Dropout: survivors exactly x/(1-p), the drop rate within 4 sigma, whole channels for
// Dropout2d, identity in evaluation, the backward mask equal to the forward mask, and CPU and
// CUDA masks identical bit for bit.
#include <gtest/gtest.h>

#include <cmath>

#include "core/nn.h"
#include "core/ops.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::random_uniform;

TEST(Dropout, SurvivorsScaledAndRateWithinFourSigma) {
  for (double p : {0.1, 0.5, 0.9}) {
    Generator gen(17);
    const int64_t n = 200000;
    const Tensor x = random_uniform({n}, 1, 1.0, 2.0, DType::Float32);  // never zero
    const Tensor y = dropout(x, p, Phase::Train, gen);
    const auto vx = x.to_vector<float>(), vy = y.to_vector<float>();
    int64_t dropped = 0;
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    for (int64_t i = 0; i < n; ++i) {
      if (vy[i] == 0.0f)
        ++dropped;
      else
        ASSERT_EQ(vy[i], vx[i] * scale) << "survivor " << i << " at p = " << p;
    }
    const double sigma = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(double(dropped), n * p, 4 * sigma) << "p = " << p;
  }
}

TEST(Dropout, EvalAndZeroProbabilityAreIdentity) {
  Generator gen(1);
  const Tensor x = testing::random_normal({100}, 2, DType::Float32);
  EXPECT_TRUE(dropout(x, 0.5, Phase::Eval, gen).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, Phase::Train, gen).is_same(x));
  EXPECT_EQ(gen.offset(), 0u);  // no random numbers consumed
  EXPECT_THROW(dropout(x, 1.0, Phase::Train, gen), Error);
  EXPECT_THROW(dropout(x, -0.1, Phase::Train, gen), Error);
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  Generator gen(5);
  Tensor x = random_uniform({1000}, 3, 1.0, 2.0, DType::Float64).set_requires_grad(true);
  const Tensor y = dropout(x, 0.3, Phase::Train, gen);
  sum(y).backward();
  const auto vy = y.to_vector<double>(), g = x.grad().to_vector<double>();
  for (size_t i = 0; i < vy.size(); ++i) EXPECT_EQ(g[i], vy[i] == 0 ? 0.0 : 1.0 / 0.7) << i;
}

TEST(Dropout2d, DropsWholeChannels) {
  Generator gen(9);
  const Tensor x = random_uniform({16, 32, 3, 3}, 4, 1.0, 2.0, DType::Float32);
  const auto v = dropout2d(x, 0.5, Phase::Train, gen).to_vector<float>();
  int64_t dropped_channels = 0;
  for (int64_t ch = 0; ch < 16 * 32; ++ch) {
    int zeros = 0;
    for (int i = 0; i < 9; ++i) zeros += v[ch * 9 + i] == 0.0f;
    EXPECT_TRUE(zeros == 0 || zeros == 9) << "channel " << ch << " partly dropped";
    dropped_channels += zeros == 9;
  }
  EXPECT_NEAR(double(dropped_channels), 256.0, 4 * std::sqrt(512 * 0.25));
  // On [N, C] input every element is its own channel: ordinary dropout, as PyTorch.
  Generator g1(3), g2(3);
  const Tensor flat = random_uniform({8, 512}, 5, 1.0, 2.0, DType::Float32);
  EXPECT_TRUE(
      testing::bit_equal(dropout2d(flat, 0.5, Phase::Train, g1), dropout(flat, 0.5, Phase::Train, g2)));
}

TEST(Dropout, CudaMaskEqualsCpuMask) {
  KILN_REQUIRE_CUDA();
  for (bool channel : {false, true}) {
    Generator g_cpu(11), g_gpu(11);
    const Tensor x = random_uniform({8, 16, 5, 5}, 6, -1.0, 1.0, DType::Float32);
    const Tensor a = channel ? dropout2d(x, 0.4, Phase::Train, g_cpu) : dropout(x, 0.4, Phase::Train, g_cpu);
    const Tensor b = channel ? dropout2d(x.to(Device::cuda()), 0.4, Phase::Train, g_gpu)
                             : dropout(x.to(Device::cuda()), 0.4, Phase::Train, g_gpu);
    EXPECT_TRUE(testing::bit_equal(a, b));
  }
}

}  // namespace
}  // namespace kiln
