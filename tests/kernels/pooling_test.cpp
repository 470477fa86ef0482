// Max and adaptive-average pooling against float64 loops over the definition, the gradient
// checker, and CUDA against the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/nn.h"
#include "core/ops.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::random_normal;

struct Ref {
  std::vector<double> y, dx;
};

Ref max_pool_ref(const std::vector<double>& x, int64_t planes, int64_t h, int64_t w, int64_t k, int64_t st,
                 int64_t pad, const std::vector<double>& dy) {
  const int64_t P = (h + 2 * pad - k) / st + 1, Q = (w + 2 * pad - k) / st + 1;
  Ref r;
  r.dx.assign(x.size(), 0.0);
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t arg = -1;
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t a = p * st - pad + i, b = q * st - pad + j;
            if (a < 0 || a >= h || b < 0 || b >= w) continue;
            if (x[(pl * h + a) * w + b] > best) {
              best = x[(pl * h + a) * w + b];
              arg = (pl * h + a) * w + b;
            }
          }
        r.y.push_back(best);
        r.dx[arg] += dy[(pl * P + p) * Q + q];
      }
  return r;
}

Ref adaptive_avg_ref(const std::vector<double>& x, int64_t planes, int64_t h, int64_t w, int64_t P, int64_t Q,
                     const std::vector<double>& dy) {
  Ref r;
  r.dx.assign(x.size(), 0.0);
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t i = 0; i < P; ++i)
      for (int64_t j = 0; j < Q; ++j) {
        // PyTorch: start = floor(i*H/P), end = ceil((i+1)*H/P)
        const int64_t h0 = static_cast<int64_t>(std::floor(double(i) * h / P));
        const int64_t h1 = static_cast<int64_t>(std::ceil(double(i + 1) * h / P));
        const int64_t w0 = static_cast<int64_t>(std::floor(double(j) * w / Q));
        const int64_t w1 = static_cast<int64_t>(std::ceil(double(j + 1) * w / Q));
        double acc = 0;
        const double cnt = double((h1 - h0) * (w1 - w0));
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) acc += x[(pl * h + a) * w + b];
        r.y.push_back(acc / cnt);
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) r.dx[(pl * h + a) * w + b] += dy[(pl * P + i) * Q + j] / cnt;
      }
  return r;
}

class PoolingTest : public ::testing::TestWithParam<testing::DeviceDType> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam().device); }
  Tensor normal(const Shape& s, uint64_t seed) const {
    return random_normal(s, seed, GetParam().dtype, GetParam().device);
  }
  double tol() const { return GetParam().dtype == DType::Float32 ? 1e-6 : 1e-13; }
};

TEST_P(PoolingTest, MaxPoolMatchesDefinition) {
  struct Case {
    int64_t n, c, h, w, k, st, pad;
  };
  // The source's ResNet stem pool (3x3, stride 2, padding 1), the MNIST Net pools (2x2/2,
  // with an odd 13x13 input that floors), and an overlapping unpadded window.
  for (const Case& t : {Case{2, 3, 32, 32, 3, 2, 1}, Case{2, 4, 26, 26, 2, 2, 0}, Case{2, 4, 13, 13, 2, 2, 0},
                        Case{1, 2, 7, 5, 3, 1, 0}}) {
    const Tensor x = normal({t.n, t.c, t.h, t.w}, 1);
    Tensor xg = x.clone().set_requires_grad(true);
    const Tensor y = max_pool2d(xg, t.k, t.st, t.pad);
    const Tensor dy = normal(y.shape(), 2);
    y.backward(dy);
    const Ref ref =
        max_pool_ref(x.to_vector<double>(), t.n * t.c, t.h, t.w, t.k, t.st, t.pad, dy.to_vector<double>());
    EXPECT_TRUE(all_close(y, ref.y, 0, 0));
    EXPECT_TRUE(all_close(xg.grad(), ref.dx, tol(), tol()));
  }
}

TEST_P(PoolingTest, AdaptiveAvgPoolMatchesPyTorchWindows) {
  struct Case {
    int64_t n, c, h, w, p, q;
  };
  for (const Case& t :
       {Case{2, 5, 2, 2, 1, 1}, Case{2, 3, 7, 5, 3, 2}, Case{1, 2, 4, 4, 4, 4}, Case{1, 2, 5, 7, 7, 3}}) {
    const Tensor x = normal({t.n, t.c, t.h, t.w}, 3);
    Tensor xg = x.clone().set_requires_grad(true);
    const Tensor y = adaptive_avg_pool2d(xg, t.p, t.q);
    const Tensor dy = normal(y.shape(), 4);
    y.backward(dy);
    const Ref ref =
        adaptive_avg_ref(x.to_vector<double>(), t.n * t.c, t.h, t.w, t.p, t.q, dy.to_vector<double>());
    EXPECT_TRUE(all_close(y, ref.y, tol(), tol()));
    EXPECT_TRUE(all_close(xg.grad(), ref.dx, tol(), tol()));
  }
}

INSTANTIATE_TEST_SUITE_P(AllDevices, PoolingTest, ::testing::ValuesIn(testing::all_device_dtypes()),
                         testing::device_dtype_name);

TEST(Pooling, GradientCheck) {
  // Random normals have no ties within a window, so max is differentiable at these points.
  const auto x = random_normal({2, 2, 6, 5}, 5).set_requires_grad(true);
  EXPECT_TRUE(testing::gradcheck([](const auto& v) { return max_pool2d(v[0], 3, 2, 1); }, {x}));
  EXPECT_TRUE(testing::gradcheck([](const auto& v) { return adaptive_avg_pool2d(v[0], 2, 3); }, {x}));
}

TEST(Pooling, BadArgumentsAreErrors) {
  const Tensor x = Tensor::zeros({1, 1, 4, 4});
  EXPECT_THROW(max_pool2d(x, 2, 2, 2), Error);  // padding > kernel/2
  EXPECT_THROW(max_pool2d(x, 0), Error);
  EXPECT_THROW(max_pool2d(x.reshape({4, 4}), 2), Error);
  EXPECT_THROW(adaptive_avg_pool2d(x, 0, 1), Error);
}

}  // namespace
}  // namespace kiln
