// Reductions on every device x dtype against float64 loops over the same data.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/ops.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::DeviceDType;

class ReduceTest : public ::testing::TestWithParam<DeviceDType> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam().device); }
  Tensor normal(const Shape& s, uint64_t seed) const {
    return testing::random_normal(s, seed, GetParam().dtype, GetParam().device);
  }
  // float32 sums of n terms of size ~1: error grows ~ sqrt(n) * 6e-8 for a tree, n * 6e-8
  // worst case; the CPU accumulates in double. 1e-5 absolute covers n up to ~1e5.
  double atol() const { return GetParam().dtype == DType::Float32 ? 1e-5 : 1e-12; }
};

TEST_P(ReduceTest, SumOverEachDimAndAll) {
  const int64_t A = 6, B = 7, C = 9;
  const Tensor x = normal({A, B, C}, 1);
  const auto v = x.to_vector<double>();
  auto at = [&](int64_t i, int64_t j, int64_t k) { return v[(i * B + j) * C + k]; };
  std::vector<double> s0(B * C, 0), s1(A * C, 0), s2(A * B, 0);
  double total = 0;
  for (int64_t i = 0; i < A; ++i)
    for (int64_t j = 0; j < B; ++j)
      for (int64_t k = 0; k < C; ++k) {
        s0[j * C + k] += at(i, j, k);
        s1[i * C + k] += at(i, j, k);
        s2[i * B + j] += at(i, j, k);
        total += at(i, j, k);
      }
  EXPECT_TRUE(all_close(sum(x, {0}), s0, atol(), 0));
  EXPECT_TRUE(all_close(sum(x, {1}), s1, atol(), 0));
  EXPECT_TRUE(all_close(sum(x, {2}), s2, atol(), 0));
  EXPECT_TRUE(all_close(sum(x), {total}, atol(), 0));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{A, 1, C}));
  EXPECT_TRUE(all_close(
      mean(x, {0, 2}).to(DType::Float64),
      [&] {
        std::vector<double> m(B, 0);
        for (int64_t i = 0; i < A; ++i)
          for (int64_t j = 0; j < B; ++j)
            for (int64_t k = 0; k < C; ++k) m[j] += at(i, j, k) / (A * C);
        return m;
      }(),
      atol(), 0));
}

TEST_P(ReduceTest, LongRowsUseTheSplitPath) {
  const int64_t n = 1 << 18;
  const Tensor x = normal({2, n}, 2);
  const auto v = x.to_vector<double>();
  double r0 = 0, r1 = 0;
  for (int64_t i = 0; i < n; ++i) {
    r0 += v[i];
    r1 += v[n + i];
  }
  // 2^18 float terms: tree-order rounding error ~ 2^9 * 6e-8 * |partial sums| ~ 1e-3 worst.
  const double tol = GetParam().dtype == DType::Float32 ? 2e-3 : 1e-9;
  EXPECT_TRUE(all_close(sum(x, {1}), {r0, r1}, tol, 0));
}

TEST_P(ReduceTest, MaxAndArgmaxPickTheFirstMaximum) {
  const Tensor x = Tensor::from_vector<double>({1, 5, 5, 2, 7, 0, 7, 3}, {2, 4})
                       .to(GetParam().dtype)
                       .to(GetParam().device);
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_TRUE(all_close(max(x, 1), {5, 7}, 0, 0));
  EXPECT_EQ(argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 1}));
  EXPECT_TRUE(all_close(max(x, 0), {7, 5, 7, 3}, 0, 0));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor y =
      Tensor::from_vector<double>({1, nan, 9, nan}, {1, 4}).to(GetParam().dtype).to(GetParam().device);
  EXPECT_EQ(argmax(y, 1).to_vector<int64_t>(), (std::vector<int64_t>{1}));  // NaN propagates, first one
  EXPECT_FALSE(all_finite(y));
  EXPECT_TRUE(all_finite(x));
}

TEST_P(ReduceTest, ArgmaxOnWideRows) {
  const Tensor x = normal({33, 1000}, 3);
  const auto v = x.to_vector<double>();
  std::vector<int64_t> expected(33);
  for (int r = 0; r < 33; ++r) {
    int64_t best = 0;
    for (int c = 1; c < 1000; ++c)
      if (v[r * 1000 + c] > v[r * 1000 + best]) best = c;
    expected[r] = best;
  }
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), expected);
}

INSTANTIATE_TEST_SUITE_P(AllDevices, ReduceTest, ::testing::ValuesIn(testing::all_device_dtypes()),
                         testing::device_dtype_name);

}  // namespace
}  // namespace kiln
