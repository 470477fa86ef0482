// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3" (SC'11), as in Random123 and cuRAND. A draw is a pure function of
// (key = seed, counter), so any thread can compute element i of any random op with no
// shared state, and the CPU and CUDA versions produce the same bits.
//
// kiln's numbering, chosen to match cuRAND's Philox4_32_10 (curand_init(seed, subsequence,
// offset)): random op number `offset` (the generator's offset, advanced once per op) and
// element `i` use counter (i/4 as 64 bits, offset as 64 bits) and word i%4 of the output.
// So element i of op `offset` equals cuRAND's draw with subsequence = offset, offset = i.
#pragma once

#include <cstdint>

#include "core/macros.h"

namespace kiln::philox {

struct U32x4 {
  uint32_t v[4];
};

inline constexpr uint32_t kMul0 = 0xD2511F53u;
inline constexpr uint32_t kMul1 = 0xCD9E8D57u;
inline constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

KILN_HD KILN_FORCEINLINE void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

// Ten rounds of Philox4x32 on `ctr` under key (k0, k1).
KILN_HD inline U32x4 philox4x32_10(U32x4 ctr, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, ctr.v[0], hi0, lo0);
    mulhilo(kMul1, ctr.v[2], hi1, lo1);
    ctr = U32x4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return ctr;
}

// The four words drawn for elements [4*block, 4*block + 4) of random op `offset`.
KILN_HD KILN_FORCEINLINE U32x4 draw_block(uint64_t seed, uint64_t offset, uint64_t block) {
  const U32x4 ctr{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                   static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32)}};
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// The 32-bit word of element `i` of random op `offset`.
KILN_HD KILN_FORCEINLINE uint32_t draw_u32(uint64_t seed, uint64_t offset, uint64_t i) {
  return draw_block(seed, offset, i >> 2).v[i & 3];
}

// Uniform float in [0, 1) from the top 24 bits: exactly representable, identical on every
// device (the same construction as PyTorch's uniform for float).
KILN_HD KILN_FORCEINLINE float u32_to_unit_float(uint32_t x) {
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}
// Uniform double in [0, 1) from 32 bits (2^-32 resolution is plenty for kiln's uses).
KILN_HD KILN_FORCEINLINE double u32_to_unit_double(uint32_t x) {
  return static_cast<double>(x) * (1.0 / 4294967296.0);
}

}  // namespace kiln::philox
