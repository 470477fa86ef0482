// bfloat16 storage type: the top 16 bits of an IEEE float. kiln stores and converts it
// (safetensors BF16, casts); arithmetic on it is done in float.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/macros.h"

namespace kiln {

struct BFloat16 {
  uint16_t bits = 0;
};

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
KILN_HD KILN_FORCEINLINE BFloat16 float_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40)};
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return BFloat16{static_cast<uint16_t>((u + rounding) >> 16)};
}

KILN_HD KILN_FORCEINLINE float bf16_to_float(BFloat16 b) {
  const uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace kiln
