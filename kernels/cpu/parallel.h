// When CPU kernels fork OpenMP threads: only for loops with enough work to amortise the fork
// (a tiny op inside a gradient check would otherwise spend its time waking threads).
#pragma once

#include <cstdint>

namespace kiln::kernels::cpu {
inline constexpr int64_t kParallelGrain = int64_t(1) << 15;  // elements
}  // namespace kiln::kernels::cpu
