// The autograd hook the overlapped gradient averaging starts its buckets from: called once
// per parameter and backward pass, when the parameter's gradient is complete (every path
// summed), last layer first, and restored by the one who set it.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "layers/layers.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

TEST(GradReadyHook, OncePerParameterWithItsWholeGradient) {
  Generator gen(3);
  Linear first(4, 3, Bias::With, gen), second(3, 2, Bias::With, gen);
  const Tensor x = testing::random_normal({5, 4}, 7, DType::Float32);
  // The second layer's weight is used twice, through two paths of the graph.
  const Tensor hidden = relu(first(x));
  const Tensor loss = sum(add(second(hidden), second(mul(hidden, 0.5))));

  std::vector<const TensorImpl*> order;
  std::vector<Tensor> seen;
  GradReadyHook previous = set_grad_ready_hook([&](const TensorImpl* leaf) {
    order.push_back(leaf);
    seen.push_back(leaf->grad.clone());
  });
  EXPECT_FALSE(previous);
  loss.backward();
  EXPECT_FALSE(set_grad_ready_hook(nullptr) == nullptr) << "the hook set above comes back";

  const std::vector<const TensorImpl*> second_params = {second.weight().impl(), second.bias().impl()};
  const std::vector<const TensorImpl*> first_params = {first.weight().impl(), first.bias().impl()};
  ASSERT_EQ(order.size(), 4u) << "once per parameter";
  for (const TensorImpl* p : second_params) {
    const auto at = std::find(order.begin(), order.end(), p) - order.begin();
    ASSERT_LT(at, 4);
    for (const TensorImpl* q : first_params) {
      EXPECT_LT(at, std::find(order.begin(), order.end(), q) - order.begin()) << "last layer first";
    }
  }
  // What the hook saw is the final gradient: both uses of the shared weight already summed.
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_TRUE(testing::bit_equal(seen[i], order[i]->grad)) << "call " << i;
  }
}

}  // namespace
}  // namespace kiln
