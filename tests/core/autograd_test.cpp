// The autograd engine: accumulation into leaves, shared subexpressions, freeing the graph,
// grad mode, detach, and gradient-shape checking.
#include <gtest/gtest.h>

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;

Tensor leaf(std::vector<double> v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  t.set_requires_grad(true);
  return t;
}

TEST(Autograd, ProductRuleOnSharedInput) {
  // y = sum(x * x + 3x) -> dy/dx = 2x + 3; x is used three times.
  Tensor x = leaf({1, -2, 0.5});
  Tensor y = sum(add(mul(x, x), mul(x, 3.0)));
  y.backward();
  EXPECT_TRUE(all_close(x.grad(), {5, -1, 4}, 1e-12, 0));
}

TEST(Autograd, LeafGradientsAccumulateAcrossBackwardCalls) {
  Tensor x = leaf({1, 2});
  sum(mul(x, 2.0)).backward();
  sum(mul(x, 5.0)).backward();
  EXPECT_TRUE(all_close(x.grad(), {7, 7}, 0, 0));
  const void* buffer = x.grad().raw_data();
  sum(x).backward();
  EXPECT_EQ(x.grad().raw_data(), buffer);  // accumulated in place: one buffer per parameter
  EXPECT_TRUE(all_close(x.grad(), {8, 8}, 0, 0));
}

TEST(Autograd, DiamondGraphSumsBothPaths) {
  Tensor x = leaf({2});
  Tensor a = exp(x), b = mul(a, 3.0), c = mul(a, a);  // y = 3e^x + e^{2x}
  Tensor y = sum(add(b, c));
  y.backward();
  const double e2 = std::exp(2.0);
  EXPECT_TRUE(all_close(x.grad(), {3 * e2 + 2 * e2 * e2}, 1e-9, 1e-12));
}

TEST(Autograd, SecondBackwardWithoutRetainGraphIsAnError) {
  Tensor x = leaf({1, 2});
  Tensor y = sum(mul(x, x));
  y.backward();
  EXPECT_THROW(y.backward(), Error);
  Tensor z = sum(mul(x, x));
  x.set_grad(Tensor());
  z.backward(Tensor(), /*retain_graph=*/true);
  z.backward();
  EXPECT_TRUE(all_close(x.grad(), {4, 8}, 0, 0));
}

TEST(Autograd, NoGradAndDetachCutTheGraph) {
  Tensor x = leaf({1, 2});
  {
    NoGradGuard guard;
    Tensor y = mul(x, 2.0);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_FALSE(grad_enabled());
  }
  EXPECT_TRUE(grad_enabled());
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.storage(), x.storage());
  Tensor y = sum(mul(x, d));  // d is a constant: dy/dx = d
  y.backward();
  EXPECT_TRUE(all_close(x.grad(), {1, 2}, 0, 0));
}

TEST(Autograd, BackwardNeedsScalarOrGradient) {
  Tensor x = leaf({1, 2});
  Tensor y = mul(x, 2.0);
  EXPECT_THROW(y.backward(), Error);
  EXPECT_THROW(y.backward(Tensor::ones({3}, DType::Float64)), Error);
  y.backward(Tensor::from_vector<double>({1, 10}, {2}));
  EXPECT_TRUE(all_close(x.grad(), {2, 20}, 0, 0));
  EXPECT_THROW(Tensor::ones({2}).backward(), Error);  // no grad at all
}

TEST(Autograd, ViewsRouteGradientsToTheBase) {
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  x.set_requires_grad(true);
  // y = sum over the transposed middle column, times 2, plus the first row via a view.
  Tensor y = add(sum(mul(x.transpose(0, 1).narrow(0, 1, 1), 2.0)), sum(x.view({6}).narrow(0, 0, 3)));
  y.backward();
  EXPECT_TRUE(all_close(x.grad(), {1, 3, 1, 0, 2, 0}, 0, 0));
}

TEST(Autograd, IntegerCastsAreNotDifferentiable) {
  Tensor x = leaf({1.5, 2.5});
  EXPECT_FALSE(x.to(DType::Int64).requires_grad());
  EXPECT_TRUE(x.to(DType::Float32).requires_grad());
  EXPECT_THROW(Tensor::zeros({2}, DType::Int64).set_requires_grad(true), Error);
}

TEST(Autograd, AnomalyDetectionNamesTheOp) {
  set_detect_anomaly(true);
  Tensor x = leaf({-1.0, 1.0});
  std::string message;
  try {
    Tensor y = log(x);  // log(-1) = NaN
    (void)y;
  } catch (const Error& e) {
    message = e.what();
  }
  set_detect_anomaly(false);
  EXPECT_NE(message.find("output of log"), std::string::npos) << message;
}

}  // namespace
}  // namespace kiln
