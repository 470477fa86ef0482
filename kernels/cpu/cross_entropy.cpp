// CPU fused softmax cross-entropy (contract: kernels/cross_entropy.h), in double per row.
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cross_entropy.h"

namespace kiln::kernels::cpu {

template <typename T>
void cross_entropy_forward(const CrossEntropyArgs& a, const T* logits, const int64_t* labels,
                           const T* class_weights, T* loss, T* dlogits, T* row_weight) {
  const int64_t C = a.c;
  for (int64_t i = 0; i < a.n; ++i) {
    const int64_t y = labels[i];
    KILN_CHECK(y >= 0 && y < C, "cross_entropy: label ", y, " of sample ", i, " is outside [0, ", C, ")");
  }
#pragma omp parallel for schedule(static) if (a.n * a.c > kParallelGrain)
  for (int64_t i = 0; i < a.n; ++i) {
    const T* z = logits + i * C;
    const int64_t y = labels[i];
    double mx = z[0];
    for (int64_t k = 1; k < C; ++k) mx = std::max(mx, static_cast<double>(z[k]));
    double se = 0;
    for (int64_t k = 0; k < C; ++k) se += std::exp(z[k] - mx);
    const double lse = mx + std::log(se);
    const double wy = class_weights ? class_weights[y] : 1.0;
    // Coefficients c_k of the target distribution (see the contract).
    auto coef = [&](int64_t k) -> double {
      const double wk = class_weights ? class_weights[k] : 1.0;
      if (a.convention == SmoothingConvention::PyTorch)
        return (k == y ? (1 - a.smoothing) * wy : 0.0) + a.smoothing / C * wk;
      const double off = C > 1 ? a.smoothing / (C - 1) : 0.0;
      return wy * (k == y ? 1 - a.smoothing : off);
    };
    double l = 0, total = 0;
    for (int64_t k = 0; k < C; ++k) {
      const double c = coef(k);
      l += c * (lse - z[k]);
      total += c;
    }
    loss[i] = static_cast<T>(l);
    row_weight[i] = static_cast<T>(wy);
    if (dlogits)
      for (int64_t k = 0; k < C; ++k)
        dlogits[i * C + k] = static_cast<T>(total * std::exp(z[k] - lse) - coef(k));
  }
}

template void cross_entropy_forward<float>(const CrossEntropyArgs&, const float*, const int64_t*,
                                           const float*, float*, float*, float*);
template void cross_entropy_forward<double>(const CrossEntropyArgs&, const double*, const int64_t*,
                                            const double*, double*, double*, double*);

}  // namespace kiln::kernels::cpu
