// Philox4x32-10 against Random123's published known-answer vectors, the element numbering,
// and the uniform/normal transforms (statistics on the CPU; bit equality CPU vs CUDA).
#include <gtest/gtest.h>

#include <cmath>

#include "core/generator.h"
#include "core/ops.h"
#include "core/philox.h"
#include "core/random_math.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using philox::U32x4;

// Random123 kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words) -> output.
struct Kat {
  U32x4 ctr;
  uint32_t k0, k1;
  U32x4 expected;
};

TEST(Philox, MatchesRandom123KnownAnswers) {
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       0xffffffff,
       0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       0xa4093822,
       0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Kat& k : kats) {
    const U32x4 out = philox::philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.v[i], k.expected.v[i]) << "word " << i;
  }
}

TEST(Philox, ElementNumberingUsesBlockAndWord) {
  // Element i of op `offset` is word i%4 of the block counter (i/4, offset) under key = seed.
  const uint64_t seed = 0x0123456789abcdefULL, offset = 7;
  for (uint64_t i : {0ULL, 1ULL, 3ULL, 4ULL, 1001ULL, (1ULL << 34) + 2}) {
    const U32x4 ctr{{static_cast<uint32_t>(i / 4), static_cast<uint32_t>((i / 4) >> 32), 7u, 0u}};
    const U32x4 w = philox::philox4x32_10(ctr, 0x89abcdefu, 0x01234567u);
    EXPECT_EQ(philox::draw_u32(seed, offset, i), w.v[i % 4]) << "element " << i;
  }
}

TEST(Philox, PortableLogAndTrigAreAccurate) {
  for (double x : {1e-300, 2.3283064365386963e-10, 0.001, 0.25, 0.5, 0.7071, 0.9999999, 1.0}) {
    EXPECT_NEAR(philox::portable_log(x), std::log(x), 4e-16 * std::fabs(std::log(x)) + 1e-300) << x;
  }
  for (int k = 0; k < 1000; ++k) {
    const double u = k / 1000.0;
    double s, c;
    philox::portable_sincos_2pi(u, s, c);
    EXPECT_NEAR(s, std::sin(2 * M_PI * u), 2e-15) << u;
    EXPECT_NEAR(c, std::cos(2 * M_PI * u), 2e-15) << u;
  }
}

TEST(Philox, UniformMomentsAndRange) {
  Generator gen(42);
  const int64_t n = 1 << 20;
  const auto v = rand({n}, gen, DType::Float32).to_vector<double>();
  double sum = 0, sq = 0, lo = 1, hi = 0;
  for (double x : v) {
    sum += x;
    sq += x * x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  // Mean of U[0,1): 1/2 with standard error sqrt(1/12/n) = 2.8e-4; 5 sigma.
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 1e-3);
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
}

TEST(Philox, NormalMomentsAndTails) {
  Generator gen(7);
  const int64_t n = 1 << 20;
  const auto v = randn({n}, gen, DType::Float64).to_vector<double>();
  double sum = 0, sq = 0, quart = 0;
  int64_t beyond2 = 0;
  for (double x : v) {
    sum += x;
    sq += x * x;
    quart += x * x * x * x;
    beyond2 += std::fabs(x) > 2;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(double(n)));      // standard error 1/sqrt(n)
  EXPECT_NEAR(var, 1.0, 5 * std::sqrt(2.0 / n));         // sd of sample variance sqrt(2/n)
  EXPECT_NEAR(quart / n, 3.0, 5 * std::sqrt(96.0 / n));  // E x^4 = 3, Var x^4 = 96
  // P(|x| > 2) = 0.0455003; binomial sd sqrt(p(1-p)/n).
  EXPECT_NEAR(double(beyond2) / n, 0.0455003, 5 * std::sqrt(0.0455 * 0.9545 / n));
}

TEST(Philox, OffsetsGiveIndependentStreams) {
  Generator gen(3);
  const Tensor a = rand({1000}, gen), b = rand({1000}, gen);
  EXPECT_EQ(gen.offset(), 2u);
  EXPECT_GT(max_abs_diff(a, b), 0.1);
  Generator again(3);
  EXPECT_TRUE(testing::bit_equal(rand({1000}, again), a));
}

TEST(Philox, CudaDrawsEqualCpuDrawsBitForBit) {
  KILN_REQUIRE_CUDA();
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (int64_t n : {1, 3, 4, 5, 1000, 1 << 16}) {
      Generator g_cpu(99), g_gpu(99);
      EXPECT_TRUE(testing::bit_equal(rand({n}, g_cpu, dt), rand({n}, g_gpu, dt, Device::cuda())));
      EXPECT_TRUE(testing::bit_equal(randn({n}, g_cpu, dt), randn({n}, g_gpu, dt, Device::cuda())));
      Tensor u_cpu = Tensor::empty({n}, dt), u_gpu = Tensor::empty({n}, dt, Device::cuda());
      uniform_(u_cpu, g_cpu, -3.5, 2.25);
      uniform_(u_gpu, g_gpu, -3.5, 2.25);
      EXPECT_TRUE(testing::bit_equal(u_cpu, u_gpu));
    }
  }
}

}  // namespace
}  // namespace kiln
