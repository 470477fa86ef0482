// Every differentiable op of core/ops.h through the float64 gradient checker, including
// broadcasting and strided (non-contiguous) inputs.
#include <gtest/gtest.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::gradcheck;
using testing::GradcheckOptions;
using testing::random_normal;
using testing::random_uniform;

Tensor param(const Shape& shape, uint64_t seed) { return random_normal(shape, seed).set_requires_grad(true); }
Tensor positive(const Shape& shape, uint64_t seed) {
  return random_uniform(shape, seed, 0.5, 2.0).set_requires_grad(true);
}

TEST(OpsGrad, BroadcastingArithmetic) {
  const auto a = param({3, 4}, 1), b = param({4}, 2), c = param({3, 1}, 3);
  EXPECT_TRUE(gradcheck([](const auto& x) { return add(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return sub(x[0], x[1]); }, {a, c}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return mul(x[0], x[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return mul(x[0], x[1]); }, {c, b}));  // [3,1]*[4] -> [3,4]
  EXPECT_TRUE(gradcheck([](const auto& x) { return div(x[0], x[1]); }, {a, positive({4}, 4)}));
}

TEST(OpsGrad, ScalarForms) {
  const auto a = param({2, 3}, 5);
  EXPECT_TRUE(gradcheck([](const auto& x) { return add(x[0], 1.5); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return sub(x[0], 1.5); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return mul(x[0], -2.0); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return div(x[0], 4.0); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return rsub(1.0, x[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return rdiv(3.0, x[0]); }, {positive({2, 3}, 6)}));
}

TEST(OpsGrad, Unary) {
  const auto a = param({2, 5}, 7);
  EXPECT_TRUE(gradcheck([](const auto& x) { return neg(x[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return exp(x[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return square(x[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return log(x[0]); }, {positive({2, 5}, 8)}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return sqrt(x[0]); }, {positive({2, 5}, 9)}));
  GradcheckOptions kinked;
  kinked.kink = 0.0;
  EXPECT_TRUE(gradcheck([](const auto& x) { return relu(x[0]); }, {param({4, 6}, 10)}, kinked));
}

TEST(OpsGrad, Reductions) {
  const auto a = param({3, 4, 5}, 11);
  EXPECT_TRUE(gradcheck([](const auto& x) { return sum(x[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return sum(x[0], {1}); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return sum(x[0], {0, 2}, true); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return mean(x[0], {-1}); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return mean(x[0]); }, {a}));
  // Random normals have no ties, so max is differentiable at these points.
  EXPECT_TRUE(gradcheck([](const auto& x) { return max(x[0], 1); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return max(x[0], 2, true); }, {a}));
}

TEST(OpsGrad, MatmulPlainTransposedAndBatched) {
  const auto a = param({3, 4}, 12), b = param({4, 5}, 13);
  EXPECT_TRUE(gradcheck([](const auto& x) { return matmul(x[0], x[1]); }, {a, b}));
  const auto at = param({4, 3}, 14), bt = param({5, 4}, 15);
  EXPECT_TRUE(
      gradcheck([](const auto& x) { return matmul(x[0].transpose(0, 1), x[1].transpose(0, 1)); }, {at, bt}));
  const auto ba = param({2, 3, 4}, 16), bb = param({2, 4, 2}, 17);
  EXPECT_TRUE(gradcheck([](const auto& x) { return matmul(x[0], x[1]); }, {ba, bb}));
}

TEST(OpsGrad, ViewsAndIndexSelect) {
  const auto a = param({4, 3}, 18);
  EXPECT_TRUE(gradcheck([](const auto& x) { return x[0].transpose(0, 1).reshape({12}); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return x[0].narrow(0, 1, 2); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return x[0].select(1, 2); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return x[0].narrow(1, 0, 1).expand({4, 5}); }, {a}));
  EXPECT_TRUE(gradcheck([](const auto& x) { return x[0].permute({1, 0}).contiguous(); }, {a}));
  const Tensor idx = Tensor::from_vector<int64_t>({3, 0, 3, 1}, {4});  // repeated row 3 accumulates
  EXPECT_TRUE(gradcheck([idx](const auto& x) { return index_select(x[0], idx); }, {a}));
}

TEST(OpsGrad, CheckerCatchesAWrongGradient) {
  // A deliberately wrong backward (gradient of x^2 reported as x) must be rejected: the
  // checker is only useful if it can fail.
  const auto a = param({5}, 19);
  auto wrong_square = [](const std::vector<Tensor>& x) {
    Tensor out = mul(x[0].detach(), x[0].detach());
    return record("wrong_square", out, {x[0]},
                  [x0 = x[0].detach()](const Tensor& g) { return std::vector<Tensor>{mul(g, x0)}; });
  };
  EXPECT_FALSE(gradcheck(wrong_square, {a}));
}

}  // namespace
}  // namespace kiln
