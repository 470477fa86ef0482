// Per-sample augmentation draws of kernels/transforms.h, shared by the CPU loop and the CUDA
// kernel so both devices flip and crop the same samples.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/macros.h"
#include "core/philox.h"

namespace kiln::kernels {

struct SampleAugment {
  bool flip;
  int64_t dy, dx;
};

inline uint32_t flip_threshold(double p) { return static_cast<uint32_t>(std::ceil(p * 16777216.0)); }

KILN_HD KILN_FORCEINLINE SampleAugment sample_augment(uint64_t seed, uint64_t offset, int64_t b,
                                                      uint32_t flip_thr, int64_t pad) {
  const philox::U32x4 w = philox::draw_block(seed, offset, static_cast<uint64_t>(b));
  const uint64_t range = static_cast<uint64_t>(2 * pad + 1);
  SampleAugment s;
  s.flip = (w.v[0] >> 8) < flip_thr;
  s.dy = static_cast<int64_t>((static_cast<uint64_t>(w.v[1]) * range) >> 32);
  s.dx = static_cast<int64_t>((static_cast<uint64_t>(w.v[2]) * range) >> 32);
  return s;
}

}  // namespace kiln::kernels
