// Per-sample draws of DisturbLabel and DisturbValue, shared by the CPU loops and the CUDA
// kernels so both devices corrupt exactly the same labels (see kernels/label_noise.h).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/macros.h"
#include "core/philox.h"

namespace kiln::kernels {

// Probability alpha as a 33-bit threshold on a 32-bit word: replace iff word < threshold.
inline uint64_t alpha_threshold(double alpha) {
  return static_cast<uint64_t>(std::llround(alpha * 4294967296.0));
}

KILN_HD KILN_FORCEINLINE int64_t disturbed_label(uint64_t seed, uint64_t offset, int64_t i, int64_t label,
                                                 int64_t num_classes, uint64_t threshold) {
  const philox::U32x4 w = philox::draw_block(seed, offset, static_cast<uint64_t>(i));
  if (static_cast<uint64_t>(w.v[0]) >= threshold) return label;
  return static_cast<int64_t>((static_cast<uint64_t>(w.v[1]) * static_cast<uint64_t>(num_classes)) >> 32);
}

// Sample i's selection key; ties broken by index, so the order is total.
KILN_HD KILN_FORCEINLINE bool key_less(uint32_t ka, int64_t a, uint32_t kb, int64_t b) {
  return ka < kb || (ka == kb && a < b);
}

// Uniform index in [0, n) for draw t (multiply-shift).
KILN_HD KILN_FORCEINLINE int64_t uniform_index(uint64_t seed, uint64_t offset, int64_t t, int64_t n) {
  return static_cast<int64_t>(
      (static_cast<uint64_t>(philox::draw_u32(seed, offset, static_cast<uint64_t>(t))) *
       static_cast<uint64_t>(n)) >>
      32);
}

// How many samples DisturbValue corrupts: exactly round(alpha * n) (ties to even, so
// alpha = 0.5 of 5 gives 2, as Python's round), or the source's int(n * (1 - alpha)) draws.
inline int64_t disturbed_count(double alpha, int64_t n) {
  return static_cast<int64_t>(std::nearbyint(alpha * n));
}
inline int64_t source_zeroed_draws(double alpha, int64_t n) {
  return static_cast<int64_t>(n * (1.0 - alpha));
}

}  // namespace kiln::kernels
