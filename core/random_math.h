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
// log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, by its odd series to s^41.
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
  double series = 1.0 / 41.0;
  for (int k = 19; k >= 0; --k) {
    series = KILN_DADD(KILN_DMUL(series, s2), KILN_DDIV(1.0, static_cast<double>(2 * k + 1)));
  }
  const double log_m = KILN_DMUL(KILN_DMUL(2.0, s), series);
  // ln 2 split so that e * kLn2Hi is exact for |e| < 2^11.
  const double kLn2Hi = 6.93147180369123816490e-01;
  const double kLn2Lo = 1.90821492927058770002e-10;
  const double de = static_cast<double>(e);
  return KILN_DADD(KILN_DMUL(de, kLn2Hi), KILN_DADD(KILN_DMUL(de, kLn2Lo), log_m));
}

// sin and cos of phi in [0, pi/2] by Taylor series to degree 26/27 (error < 1e-20).
KILN_HD inline void portable_sincos_quarter(double phi, double& s, double& c) {
  const double p2 = KILN_DMUL(phi, phi);
  double sin_acc = 1.0;
  double cos_acc = 1.0;
  for (int n = 26; n >= 2; n -= 2) {
    // sin: 1 - x^2/(n(n+1)) * (...), cos: 1 - x^2/((n-1)n) * (...)
    sin_acc = KILN_DSUB(1.0, KILN_DMUL(KILN_DDIV(p2, static_cast<double>(n * (n + 1))), sin_acc));
    cos_acc = KILN_DSUB(1.0, KILN_DMUL(KILN_DDIV(p2, static_cast<double>((n - 1) * n)), cos_acc));
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
    case 0: s = sp; c = cp; break;
    case 1: s = cp; c = -sp; break;
    case 2: s = -sp; c = -cp; break;
    default: s = -cp; c = sp; break;
  }
}

// Standard normal for element i of random op `offset` (Box-Muller on a word pair:
// elements 4b, 4b+1 share words 0,1 of block b as (cos, sin); 4b+2, 4b+3 share words 2,3).
KILN_HD inline double normal_double(uint64_t seed, uint64_t offset, uint64_t i) {
  const U32x4 w = draw_block(seed, offset, i >> 2);
  const int pair = static_cast<int>((i >> 1) & 1);
  const uint32_t a = w.v[2 * pair];
  const uint32_t b = w.v[2 * pair + 1];
  // u1 in (0, 1] so the log is finite; u2 in [0, 1).
  const double u1 = KILN_DMUL(KILN_DADD(static_cast<double>(a), 1.0), 1.0 / 4294967296.0);
  const double u2 = KILN_DMUL(static_cast<double>(b), 1.0 / 4294967296.0);
  const double r = KILN_DSQRT(KILN_DMUL(-2.0, portable_log(u1)));
  double s, c;
  portable_sincos_2pi(u2, s, c);
  return KILN_DMUL(r, (i & 1) ? s : c);
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
