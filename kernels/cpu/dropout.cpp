// CPU dropout (contract: kernels/dropout.h): the mask is recomputed from Philox.
#include <cmath>

#include "core/philox.h"
#include "kernels/cpu/parallel.h"
#include "kernels/dropout.h"
#include "kernels/dropout_mask.h"

namespace kiln::kernels::cpu {

template <typename T>
void dropout_apply(const DropoutArgs& a, const T* x, T* y) {
  const uint32_t threshold = dropout_threshold(a.p);
  const T scale = static_cast<T>(1.0 / (1.0 - a.p));
  const uint64_t offset = a.offset.resolve();
  if (a.group == 1) {
    // Element i is word i % 4 of Philox block i / 4: one block per four elements.
    const int64_t blocks = (a.numel + 3) / 4;
#pragma omp parallel for schedule(static) if (a.numel > kParallelGrain)
    for (int64_t b = 0; b < blocks; ++b) {
      const philox::U32x4 w = philox::draw_block(a.seed, offset, static_cast<uint64_t>(b));
      for (int k = 0; k < 4 && 4 * b + k < a.numel; ++k) {
        const int64_t i = 4 * b + k;
        y[i] = (w.v[k] >> 8) >= threshold ? x[i] * scale : T(0);
      }
    }
    return;
  }
#pragma omp parallel for schedule(static) if (a.numel > kParallelGrain)
  for (int64_t i = 0; i < a.numel; ++i) {
    const bool keep = dropout_keep(a.seed, offset, static_cast<uint64_t>(i / a.group), threshold);
    y[i] = keep ? x[i] * scale : T(0);
  }
}

template void dropout_apply<float>(const DropoutArgs&, const float*, float*);
template void dropout_apply<double>(const DropoutArgs&, const double*, double*);

}  // namespace kiln::kernels::cpu
