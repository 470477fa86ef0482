// FastDivmod (kernels/fast_divmod.h) against the hardware's own division, on the host: every
// divisor up to 2^12 with dividends around each multiple, powers of two and their
// neighbours, and random divisors and dividends across the whole 31-bit range.
#include "kernels/fast_divmod.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace kiln {
namespace {

using kernels::FastDivmod;

void expect_divides(uint32_t d, uint32_t n) {
  const FastDivmod f(d);
  uint32_t q = 0, r = 0;
  f.divmod(n, q, r);
  ASSERT_EQ(q, n / d) << n << " / " << d;
  ASSERT_EQ(r, n % d) << n << " % " << d;
}

TEST(FastDivmod, SmallDivisorsAroundEveryMultiple) {
  for (uint32_t d = 1; d <= 4096; ++d)
    for (uint32_t m : {0u, 1u, 2u, 3u, 1000u, 65535u, (1u << 31) / d - 1})
      for (int delta = -1; delta <= 1; ++delta) {
        const int64_t n = int64_t(m) * d + delta;
        if (n >= 0 && n < FastDivmod::kLimit) expect_divides(d, static_cast<uint32_t>(n));
      }
}

TEST(FastDivmod, PowersOfTwoAndNeighbours) {
  std::vector<uint32_t> values;
  for (int b = 0; b < 31; ++b)
    for (int64_t v : {(int64_t(1) << b) - 1, int64_t(1) << b, (int64_t(1) << b) + 1})
      if (v >= 1 && v < FastDivmod::kLimit) values.push_back(static_cast<uint32_t>(v));
  values.push_back(static_cast<uint32_t>(FastDivmod::kLimit - 1));
  for (uint32_t d : values)
    for (uint32_t n : values) expect_divides(d, n);
}

TEST(FastDivmod, RandomDivisorsAndDividends) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint32_t> any(0, static_cast<uint32_t>(FastDivmod::kLimit - 1));
  for (int i = 0; i < 200000; ++i) {
    // Divisors spread over every magnitude, not just near 2^31.
    const uint32_t d = std::max<uint32_t>(1, any(rng) >> (rng() % 31));
    expect_divides(d, any(rng));
  }
}

TEST(FastDivmod, RangeCheck) {
  EXPECT_TRUE(FastDivmod::fits(1, FastDivmod::kLimit));
  EXPECT_TRUE(FastDivmod::fits(FastDivmod::kLimit - 1, 10));
  EXPECT_FALSE(FastDivmod::fits(0, 10));
  EXPECT_FALSE(FastDivmod::fits(FastDivmod::kLimit, 10));
  EXPECT_FALSE(FastDivmod::fits(3, FastDivmod::kLimit + 1));
}

}  // namespace
}  // namespace kiln
