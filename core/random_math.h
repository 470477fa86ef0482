// Turning Philox words into distributions, identically on the CPU and on CUDA.
// Uniform draws are exact integer scaling, so they agree bit for bit anywhere. Normal draws
// (Box-Muller) need log, sqrt, sin and cos; the devices' libm implementations differ in the
// last bits, so kiln evaluates them here with only IEEE-754 +, *, / and sqrt, each rounded
// to nearest and never fused (CUDA's __d*_rn intrinsics, which nvcc never contracts; on the
// host kiln builds with -ffp-contract=off). The results are accurate to a few ulps of double
// and identical on both devices; they are then rounded to the tensor's dtype.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/macros.h"
#include "core/philox.h"

namespace kiln::philox {

#if defined(__CUDA_ARCH__)
#define KILN_DADD(a, b) __dadd_rn((a), (b))
#define KILN_DSUB(a, b) __dsub_rn((a), (b))
#define KILN_DMUL(a, b) __dmul_rn((a), (b))
#define KILN_DDIV(a, b) __ddiv_rn((a), (b))
#define KILN_DSQRT(a) __dsqrt_rn(a)
#else
#define KILN_DADD(a, b) ((a) + (b))
#define KILN_DSUB(a, b) ((a) - (b))
#define KILN_DMUL(a, b) ((a) * (b))
#define KILN_DDIV(a, b) ((a) / (b))
#define KILN_DSQRT(a) __builtin_sqrt(a)
#endif

KILN_HD KILN_FORCEINLINE uint64_t double_bits(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  return bits;
}
KILN_HD KILN_FORCEINLINE double bits_double(uint64_t bits) {
  double x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

// Natural log of a positive, normal double. x = m * 2^e with m in [sqrt(1/2), sqrt(2));
// log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, by its odd series to s^27 (the next
// term is below 1e-20 relative). Coefficients are compile-time constants, rounded the same
// way by every compiler.
KILN_HD inline double portable_log(double x) {
  const uint64_t bits = double_bits(x);
  int64_t e = static_cast<int64_t>((bits >> 52) & 0x7ff) - 1023;
  double m = bits_double((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);  // [1, 2)
  if (m > 1.4142135623730951) {
    m = KILN_DMUL(m, 0.5);
    e += 1;
  }
  const double s = KILN_DDIV(KILN_DSUB(m, 1.0), KILN_DADD(m, 1.0));
  const double s2 = KILN_DMUL(s, s);
  constexpr double kOdd[14] = {1.0,      1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,  1.0 / 11, 1.0 / 13,
                               1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23, 1.0 / 25, 1.0 / 27};
  double series = kOdd[13];
  for (int k = 12; k >= 0; --k) series = KILN_DADD(KILN_DMUL(series, s2), kOdd[k]);
  const double log_m = KILN_DMUL(KILN_DMUL(2.0, s), series);
  // ln 2 split so that e * kLn2Hi is exact for |e| < 2^11.
  const double kLn2Hi = 6.93147180369123816490e-01;
  const double kLn2Lo = 1.90821492927058770002e-10;
  const double de = static_cast<double>(e);
  return KILN_DADD(KILN_DMUL(de, kLn2Hi), KILN_DADD(KILN_DMUL(de, kLn2Lo), log_m));
}

// sin and cos of phi in [0, pi/2] by Taylor series to degree 26/27 (error < 1e-20), in
// Horner form with compile-time reciprocals 1/(n(n+1)).
KILN_HD inline void portable_sincos_quarter(double phi, double& s, double& c) {
  const double p2 = KILN_DMUL(phi, phi);
  double sin_acc = 1.0;
  double cos_acc = 1.0;
  // n = 26, 24, ..., 2: sin uses 1/(n(n+1)), cos uses 1/((n-1)n).
  constexpr double kSin[13] = {1.0 / (26 * 27), 1.0 / (24 * 25), 1.0 / (22 * 23), 1.0 / (20 * 21),
                               1.0 / (18 * 19), 1.0 / (16 * 17), 1.0 / (14 * 15), 1.0 / (12 * 13),
                               1.0 / (10 * 11), 1.0 / (8 * 9),   1.0 / (6 * 7),   1.0 / (4 * 5),
                               1.0 / (2 * 3)};
  constexpr double kCos[13] = {1.0 / (25 * 26), 1.0 / (23 * 24), 1.0 / (21 * 22), 1.0 / (19 * 20),
                               1.0 / (17 * 18), 1.0 / (15 * 16), 1.0 / (13 * 14), 1.0 / (11 * 12),
                               1.0 / (9 * 10),  1.0 / (7 * 8),   1.0 / (5 * 6),   1.0 / (3 * 4),
                               1.0 / (1 * 2)};
  for (int i = 0; i < 13; ++i) {
    sin_acc = KILN_DSUB(1.0, KILN_DMUL(KILN_DMUL(p2, kSin[i]), sin_acc));
    cos_acc = KILN_DSUB(1.0, KILN_DMUL(KILN_DMUL(p2, kCos[i]), cos_acc));
  }
  s = KILN_DMUL(phi, sin_acc);
  c = cos_acc;
}

// sin and cos of 2*pi*u for u in [0, 1), reduced by quadrant on u (exact).
KILN_HD inline void portable_sincos_2pi(double u, double& s, double& c) {
  const double u4 = KILN_DMUL(u, 4.0);  // exact
  const int quadrant = static_cast<int>(u4);
  const double frac = KILN_DSUB(u4, static_cast<double>(quadrant));  // exact
  const double kHalfPi = 1.57079632679489661923;
  double sp, cp;
  portable_sincos_quarter(KILN_DMUL(frac, kHalfPi), sp, cp);
  switch (quadrant & 3) {
    case 0:
      s = sp;
      c = cp;
      break;
    case 1:
      s = cp;
      c = -sp;
      break;
    case 2:
      s = -sp;
      c = -cp;
      break;
    default:
      s = -cp;
      c = sp;
      break;
  }
}

// Box-Muller on one word pair: (r cos t, r sin t), r = sqrt(-2 log u1), t = 2 pi u2, with
// u1 = (a + 1) / 2^32 in (0, 1] so the log is finite and u2 = b / 2^32 in [0, 1).
KILN_HD inline void box_muller(uint32_t a, uint32_t b, double& z_cos, double& z_sin) {
  const double u1 = KILN_DMUL(KILN_DADD(static_cast<double>(a), 1.0), 1.0 / 4294967296.0);
  const double u2 = KILN_DMUL(static_cast<double>(b), 1.0 / 4294967296.0);
  const double r = KILN_DSQRT(KILN_DMUL(-2.0, portable_log(u1)));
  double s, c;
  portable_sincos_2pi(u2, s, c);
  z_cos = KILN_DMUL(r, c);
  z_sin = KILN_DMUL(r, s);
}

// The four standard normals of elements [4 block, 4 block + 4) of random op `offset`:
// elements 4b, 4b+1 are (cos, sin) of words 0, 1; elements 4b+2, 4b+3 of words 2, 3.
KILN_HD inline void normal_block(uint64_t seed, uint64_t offset, uint64_t block, double (&z)[4]) {
  const U32x4 w = draw_block(seed, offset, block);
  box_muller(w.v[0], w.v[1], z[0], z[1]);
  box_muller(w.v[2], w.v[3], z[2], z[3]);
}

// Standard normal for element i of random op `offset` (one element of normal_block).
KILN_HD inline double normal_double(uint64_t seed, uint64_t offset, uint64_t i) {
  const U32x4 w = draw_block(seed, offset, i >> 2);
  const int pair = static_cast<int>((i >> 1) & 1);
  double zc, zs;
  box_muller(w.v[2 * pair], w.v[2 * pair + 1], zc, zs);
  return (i & 1) ? zs : zc;
}

}  // namespace kiln::philox

namespace kiln::philox {

#if defined(__CUDA_ARCH__)
#define KILN_FADD(a, b) __fadd_rn((a), (b))
#define KILN_FMUL(a, b) __fmul_rn((a), (b))
#else
#define KILN_FADD(a, b) ((a) + (b))
#define KILN_FMUL(a, b) ((a) * (b))
#endif

// low + (high - low) * u with the multiply and add rounded separately (nvcc would fuse
// them into an FMA otherwise, and the CPU would disagree in the last bit).
KILN_HD KILN_FORCEINLINE float scale_uniform(float u, float low, float width) {
  return KILN_FADD(low, KILN_FMUL(width, u));
}
KILN_HD KILN_FORCEINLINE double scale_uniform(double u, double low, double width) {
  return KILN_DADD(low, KILN_DMUL(width, u));
}

}  // namespace kiln::philox
