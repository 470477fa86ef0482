// Mean squared error against its formula, the gradient checker, and CUDA against the CPU.
#include <gtest/gtest.h>

#include "core/ops.h"
#include "losses/losses.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

TEST(MseLoss, MatchesFormula) {
  const Tensor x = Tensor::from_vector<double>({1, 2, 3, 4}, {4, 1}),
               y = Tensor::from_vector<double>({0, 2, 5, 1}, {4, 1});
  EXPECT_DOUBLE_EQ(mse_loss(x, y).item<double>(), (1 + 0 + 4 + 9) / 4.0);
  EXPECT_DOUBLE_EQ(mse_loss(x, y, Reduction::Sum).item<double>(), 14.0);
  EXPECT_THROW(mse_loss(x, y.reshape({4})), Error);
}

TEST(MseLoss, GradientCheck) {
  const auto x = testing::random_normal({6, 2}, 1).set_requires_grad(true);
  const auto y = testing::random_normal({6, 2}, 2).set_requires_grad(true);
  EXPECT_TRUE(testing::gradcheck([](const auto& v) { return mse_loss(v[0], v[1]); }, {x, y}));
  EXPECT_TRUE(testing::gradcheck([](const auto& v) { return mse_loss(v[0], v[1], Reduction::Sum); }, {x, y}));
}

TEST(MseLoss, CudaMatchesCpu) {
  KILN_REQUIRE_CUDA();
  const Tensor x = testing::random_normal({100000}, 3, DType::Float32),
               y = testing::random_normal({100000}, 4, DType::Float32);
  Tensor xc = x.clone().set_requires_grad(true), xg = x.to(Device::cuda()).set_requires_grad(true);
  const Tensor lc = mse_loss(xc, y), lg = mse_loss(xg, y.to(Device::cuda()));
  lc.backward();
  lg.backward();
  EXPECT_TRUE(testing::all_close(lg, lc, 0, 1e-5));  // float tree sum vs double sum of 1e5 terms
  EXPECT_TRUE(testing::all_close(xg.grad(), xc.grad(), 0, 1e-6));
}

}  // namespace
}  // namespace kiln
