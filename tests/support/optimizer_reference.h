// The optimizers' documented update rules (torch.optim.SGD / Adam / AdamW), written out in
// float64 independently of kernels/optimizer_math.h, for the tests of every optimizer kernel.
#pragma once

#include <vector>

#include "kernels/optimizer.h"

namespace kiln::testing {

// Parameters and the two state buffers (SGD: momentum and unused; Adam: m and v) after one
// step per entry of `grads`, from zero state.
struct Expected {
  std::vector<double> p, s0, s1;
};

Expected reference(const kernels::OptimizerHyper& h, std::vector<double> p,
                   const std::vector<std::vector<double>>& grads);

}  // namespace kiln::testing
