// Elementwise ops on every device x dtype against float64 host formulas, on contiguous,
// broadcast and strided operands (the CUDA vectorised and strided paths both run).
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::random_normal;
using testing::random_uniform;

class ElementwiseTest : public ::testing::TestWithParam<DeviceDType> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam().device); }
  Tensor normal(const Shape& s, uint64_t seed) const {
    return random_normal(s, seed, GetParam().dtype, GetParam().device);
  }
  Tensor positive(const Shape& s, uint64_t seed) const {
    return random_uniform(s, seed, 0.1, 3.0, GetParam().dtype, GetParam().device);
  }
  // float32 results of one rounding step vs a float64 formula: relative error ~6e-8 per
  // op; exp/log/sqrt in CUDA float are within 2 ulp. 1e-6 relative covers both.
  double rtol() const { return GetParam().dtype == DType::Float32 ? 1e-6 : 1e-14; }
};

template <typename F>
std::vector<double> map1(const Tensor& a, F f) {
  auto v = a.to_vector<double>();
  for (double& x : v) x = f(x);
  return v;
}

TEST_P(ElementwiseTest, UnaryMatchesFormulas) {
  for (const Shape& shape : {Shape{1}, Shape{7}, Shape{1000, 37}}) {  // tails, vectors, large
    const Tensor x = normal(shape, 1), p = positive(shape, 2);
    EXPECT_TRUE(all_close(neg(x), map1(x, [](double v) { return -v; }), 0, 0));
    EXPECT_TRUE(all_close(relu(x), map1(x, [](double v) { return v > 0 ? v : 0; }), 0, 0));
    EXPECT_TRUE(all_close(exp(x), map1(x, [](double v) { return std::exp(v); }), 0, rtol()));
    EXPECT_TRUE(all_close(log(p), map1(p, [](double v) { return std::log(v); }), 1e-7, rtol()));
    EXPECT_TRUE(all_close(sqrt(p), map1(p, [](double v) { return std::sqrt(v); }), 0, rtol()));
    EXPECT_TRUE(all_close(square(x), map1(x, [](double v) { return v * v; }), 0, rtol()));
  }
}

TEST_P(ElementwiseTest, ReluPropagatesNaNLikePyTorch) {
  const double nan = std::nan("");
  const Tensor x =
      Tensor::from_vector<double>({-1, 0, 2, nan}, {4}).to(GetParam().dtype).to(GetParam().device);
  const auto y = relu(x).to_vector<double>();
  EXPECT_EQ(y[0], 0.0);
  EXPECT_EQ(y[1], 0.0);
  EXPECT_EQ(y[2], 2.0);
  EXPECT_TRUE(std::isnan(y[3]));
}

TEST_P(ElementwiseTest, BinaryBroadcastsLikeNumPy) {
  const Tensor a = normal({4, 1, 5}, 3), b = normal({3, 1}, 4), d = positive({3, 1}, 5);
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>(), vd = d.to_vector<double>();
  std::vector<double> add_ref, sub_ref, mul_ref, div_ref;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 5; ++k) {
        const double x = va[i * 5 + k], y = vb[j];
        add_ref.push_back(x + y);
        sub_ref.push_back(x - y);
        mul_ref.push_back(x * y);
        div_ref.push_back(x / vd[j]);
      }
  EXPECT_EQ(add(a, b).shape(), (Shape{4, 3, 5}));
  EXPECT_TRUE(all_close(add(a, b), add_ref, 0, rtol()));
  EXPECT_TRUE(all_close(sub(a, b), sub_ref, 0, rtol()));
  EXPECT_TRUE(all_close(mul(a, b), mul_ref, 0, rtol()));
  EXPECT_TRUE(all_close(div(a, d), div_ref, 0, rtol()));
}

TEST_P(ElementwiseTest, StridedOperandsAndScalars) {
  const Tensor a = normal({64, 33}, 6);
  const Tensor t = a.transpose(0, 1);  // [33, 64], strided
  const Tensor c = t.contiguous();
  EXPECT_TRUE(all_close(add(t, t), mul(c, 2.0), 0, rtol()));
  EXPECT_TRUE(all_close(mul(t, 3.0), map1(c, [](double v) { return 3 * v; }), 0, rtol()));
  EXPECT_TRUE(all_close(rsub(1.0, t), map1(c, [](double v) { return 1 - v; }), 0, rtol()));
  EXPECT_TRUE(all_close(add(t.narrow(1, 3, 20), 0.5),
                        map1(c.narrow(1, 3, 20), [](double v) { return v + 0.5; }), 0, rtol()));
  const Tensor m = positive({5}, 7);
  EXPECT_TRUE(all_close(rdiv(2.0, m), map1(m, [](double v) { return 2 / v; }), 0, rtol()));
}

TEST_P(ElementwiseTest, ComparisonsAndInPlaceAccumulate) {
  const Tensor a = Tensor::from_vector<double>({1, 2, 3, 4}, {4}).to(GetParam().dtype).to(GetParam().device);
  const Tensor b = Tensor::from_vector<double>({1, 5, 0, 4}, {4}).to(GetParam().dtype).to(GetParam().device);
  EXPECT_TRUE(all_close(eq(a, b), {1, 0, 0, 1}, 0, 0));
  EXPECT_TRUE(all_close(gt(a, b), {0, 0, 1, 0}, 0, 0));
  Tensor acc = a.clone();
  add_(acc, b, 2.0);
  EXPECT_TRUE(all_close(acc, {3, 12, 3, 12}, 0, 0));
  Tensor grid = Tensor::zeros({2, 4}, GetParam().dtype, GetParam().device);
  add_(grid, a);  // broadcast over rows
  EXPECT_TRUE(all_close(grid, {1, 2, 3, 4, 1, 2, 3, 4}, 0, 0));
}

TEST_P(ElementwiseTest, CudaMatchesCpuOnFreshInputs) {
  KILN_REQUIRE_CUDA();
  if (GetParam().device.is_cpu()) GTEST_SKIP() << "compares the CUDA path against the CPU path";
  const Tensor x = normal({257, 129}, 8), y = normal({129}, 9);
  const Tensor hx = x.to(Device::cpu()), hy = y.to(Device::cpu());
  // Same single-rounding arithmetic on both devices: bitwise for + and *, and within the
  // CUDA libm accuracy (2 ulp) for exp.
  EXPECT_TRUE(testing::bit_equal(add(x, y), add(hx, hy)));
  EXPECT_TRUE(testing::bit_equal(mul(x, y), mul(hx, hy)));
  EXPECT_TRUE(all_close(exp(x), exp(hx), 0, GetParam().dtype == DType::Float32 ? 3e-7 : 1e-15));
}

INSTANTIATE_TEST_SUITE_P(AllDevices, ElementwiseTest, ::testing::ValuesIn(testing::all_device_dtypes()),
                         testing::device_dtype_name);

TEST(Elementwise, MismatchedArgumentsAreErrors) {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  EXPECT_THROW(add(a, b), Error);  // shapes not broadcastable
  EXPECT_THROW(add(a, Tensor::zeros({2, 3}, DType::Float64)), Error);
  EXPECT_THROW(relu(Tensor::zeros({2}, DType::Int64)), Error);
}

}  // namespace
}  // namespace kiln
