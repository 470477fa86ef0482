// CPU optimizer updates (contract: kernels/optimizer.h).
#include "kernels/optimizer.h"
#include "kernels/cpu/parallel.h"
#include "kernels/optimizer_math.h"

namespace kiln::kernels::cpu {

template <typename T>
void optimizer_step(const OptimizerHyper& h, const std::vector<ParamSlot<T>>& slots, int64_t* step) {
  ++*step;
  const StepScalars s = step_scalars(h, *step);
  for (const ParamSlot<T>& slot : slots)
#pragma omp parallel for schedule(static) if (slot.numel > kParallelGrain)
    for (int64_t i = 0; i < slot.numel; ++i)
      update_element(h, s, slot.param[i], slot.grad[i], slot.state0 ? slot.state0 + i : nullptr,
                     slot.state1 ? slot.state1 + i : nullptr);
}

template void optimizer_step<float>(const OptimizerHyper&, const std::vector<ParamSlot<float>>&, int64_t*);
template void optimizer_step<double>(const OptimizerHyper&, const std::vector<ParamSlot<double>>&, int64_t*);

}  // namespace kiln::kernels::cpu
