// The optimizers' documented update rules in float64 (see optimizer_reference.h).
#include "tests/support/optimizer_reference.h"

#include <cmath>

namespace kiln::testing {

Expected reference(const kernels::OptimizerHyper& h, std::vector<double> p,
                   const std::vector<std::vector<double>>& grads) {
  std::vector<double> m(p.size(), 0.0), v(p.size(), 0.0), buf(p.size(), 0.0);
  for (size_t t = 1; t <= grads.size(); ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grads[t - 1][i];
      if (h.kind == kernels::OptimizerKind::SGD) {
        g += h.weight_decay * p[i];
        if (h.momentum != 0) {
          buf[i] = t == 1 ? g : h.momentum * buf[i] + (1 - h.dampening) * g;
          g = h.nesterov ? g + h.momentum * buf[i] : buf[i];
        }
        p[i] -= h.lr * g;
        continue;
      }
      if (h.kind == kernels::OptimizerKind::AdamW)
        p[i] *= 1 - h.lr * h.weight_decay;
      else
        g += h.weight_decay * p[i];
      m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
      v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
      const double mhat = m[i] / (1 - std::pow(h.beta1, double(t)));
      const double vhat = v[i] / (1 - std::pow(h.beta2, double(t)));
      p[i] -= h.lr * mhat / (std::sqrt(vhat) + h.eps);
    }
  }
  return {p, h.kind == kernels::OptimizerKind::SGD ? buf : m, v};
}

}  // namespace kiln::testing
