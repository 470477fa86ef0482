// The dropout keep decision, shared by the CPU loop and the CUDA kernel so the masks agree
// bit for bit: draw i is kept when its 24-bit uniform u = (word >> 8) / 2^24 satisfies
// u >= p, evaluated in integers as (word >> 8) >= ceil(p * 2^24).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/macros.h"
#include "core/philox.h"

namespace kiln::kernels {

inline uint32_t dropout_threshold(double p) { return static_cast<uint32_t>(std::ceil(p * 16777216.0)); }

KILN_HD KILN_FORCEINLINE bool dropout_keep(uint64_t seed, uint64_t offset, uint64_t draw,
                                           uint32_t threshold) {
  return (philox::draw_u32(seed, offset, draw) >> 8) >= threshold;
}

}  // namespace kiln::kernels
