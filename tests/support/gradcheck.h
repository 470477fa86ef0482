// The one gradient checker every differentiable op and loss goes through: central
// differences in float64 on the CPU, projected on a random upstream gradient v (so one
// backward pass checks the whole Jacobian-vector product), compared with autograd.
// Defaults follow PyTorch's gradcheck (eps 1e-6, atol 1e-5, rtol 1e-3). For functions with
// kinks (relu, max) Caffe's rule applies: input elements within kink_range of the kink are
// skipped, since a finite difference across the kink measures neither one-sided slope.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <vector>

#include "core/tensor.h"

namespace kiln::testing {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  std::optional<double> kink;  // e.g. 0.0 for relu
  double kink_range = 1e-3;
  uint64_t seed = 1234;  // for the projection vector
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// `inputs` are float64 CPU tensors; those with requires_grad set are checked.
::testing::AssertionResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                                     const GradcheckOptions& options = {});

}  // namespace kiln::testing
