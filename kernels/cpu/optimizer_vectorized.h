// A faster CPU variant of the fused Adam / AdamW update (contract: kernels/optimizer.h) for
// float32: AVX-512 over every parameter in one parallel region. The reference loop in
// kernels/cpu/optimizer.cpp stays the definition; this variant performs the same IEEE float
// operations in the same order (no FMA, no reassociation), so its results equal the
// reference's bit for bit. Chosen by the optimizer's dispatch when supported.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/optimizer.h"

namespace kiln::kernels::cpu {

// Whether optimizer_step_vectorized can run `h` on this CPU (Adam or AdamW, AVX-512F).
bool optimizer_vectorized_supports(const OptimizerHyper& h);

// Increments *step, then updates every slot (state0 = m, state1 = v, both required).
void optimizer_step_vectorized(const OptimizerHyper& h, const std::vector<ParamSlot<float>>& slots,
                               int64_t* step);

}  // namespace kiln::kernels::cpu
