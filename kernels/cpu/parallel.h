// When CPU kernels fork OpenMP threads: only for loops with enough work to amortise the fork
// (a tiny op inside a gradient check would otherwise spend its time waking threads). And how
// a hot inner loop is compiled for the vector units the CPU has: kiln is built for baseline
// x86-64 (SSE2), so such a loop is compiled three times, for AVX-512, AVX2 and the baseline,
// and the loader picks one (GCC target_clones).
#pragma once

#include <cstdint>

#define KILN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace kiln::kernels::cpu {
inline constexpr int64_t kParallelGrain = int64_t(1) << 15;  // elements
}  // namespace kiln::kernels::cpu
