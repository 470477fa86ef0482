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
#pragma omp parallel for schedule(static) if (a.numel > kParallelGrain)
  for (int64_t i = 0; i < a.numel; ++i) {
    const bool keep = dropout_keep(a.seed, a.offset, static_cast<uint64_t>(i / a.group), threshold);
    y[i] = keep ? x[i] * scale : T(0);
  }
}

template void dropout_apply<float>(const DropoutArgs&, const float*, float*);
template void dropout_apply<double>(const DropoutArgs&, const double*, double*);

}  // namespace kiln::kernels::cpu
