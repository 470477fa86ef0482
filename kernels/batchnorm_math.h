// The arithmetic of the CUDA batch-norm kernels (kernels/cuda/batchnorm.cu), host-callable so
// the CPU tests can run it on data far from zero and compare with float64.
//
// Why this care: a float channel whose values sit near 1e4 with a spread of 0.01 has
// |mean| / std = 1e6. Float Welford updates round the running mean at every step (ulp(1e4)
// = 1e-3 = 0.1 std), and a float mean rounds again before (x - mean): outputs off by 0.1 or
// more. So the kernels
//   1. accumulate in double around a shift (the channel's first value, so the shifted values
//      are small and their squares do not cancel): per thread the count and the sums of
//      d = x - shift and d^2, turned into (count, mean, M2) once per thread;
//   2. merge those with Chan et al.'s pairwise formula, in double, in a fixed tree (so every
//      block of a channel computes identical statistics, and results are deterministic);
//   3. subtract the double mean from float x in two float steps, (x - hi) - lo with hi + lo
//      = mean: x - hi is exact when x is within a factor 2 of hi (Sterbenz), so the mean's
//      low bits survive without turning the whole elementwise pass into double arithmetic.
// References: Chan, Golub & LeVeque, "Algorithms for computing the sample variance" (1983),
// for the pairwise merge and the shifted-data sums.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/macros.h"

namespace kiln::kernels::bn {

// Count, mean and sum of squared deviations of a set of values.
struct Moments {
  double count = 0;
  double mean = 0;
  double m2 = 0;
};

// Per-thread accumulator: sums of d = x - shift and of d^2.
struct ShiftedSums {
  double count = 0;
  double sum = 0;
  double sum_sq = 0;

  KILN_HD KILN_FORCEINLINE void add(double x, double shift) {
    const double d = x - shift;
    count += 1;
    sum += d;
    sum_sq += d * d;
  }

  KILN_HD Moments moments(double shift) const {
    if (count == 0) return {};
    const double mean_d = sum / count;
    const double m2 = sum_sq - sum * mean_d;
    return {count, shift + mean_d, m2 > 0 ? m2 : 0};  // rounding can leave -tiny for constant data
  }
};

// a <- a merged with b (Chan et al.), exact in the counts.
KILN_HD inline void merge(Moments& a, const Moments& b) {
  if (b.count == 0) return;
  if (a.count == 0) {
    a = b;
    return;
  }
  const double n = a.count + b.count;
  const double delta = b.mean - a.mean;
  a.mean += delta * (b.count / n);
  a.m2 += b.m2 + delta * delta * (a.count * b.count / n);
  a.count = n;
}

// A double split into two values of the element type whose sum carries (almost) all of its
// bits: for float, hi = float(v) and lo = float(v - hi).
template <typename A>
struct SplitValue {
  A hi, lo;
};

template <typename A>
KILN_HD KILN_FORCEINLINE SplitValue<A> split(double v) {
  const A hi = static_cast<A>(v);
  return {hi, static_cast<A>(v - static_cast<double>(hi))};
}

// (x - mean) * scale + shift, with the mean subtracted in two steps (see above).
template <typename A>
KILN_HD KILN_FORCEINLINE A normalize(A x, const SplitValue<A>& mean, A scale, A shift) {
  return ((x - mean.hi) - mean.lo) * scale + shift;
}

// Per-channel constants of eval-mode normalisation, computed once per channel rather than a
// double sqrt and divide per element.
template <typename A>
struct EvalChannel {
  SplitValue<A> mean;
  A scale, shift;
};

template <typename A>
KILN_HD inline EvalChannel<A> eval_channel(double running_mean, double running_var, double gamma, double beta,
                                           double eps) {
  const double invstd = 1.0 / sqrt(running_var + eps);
  return {split<A>(running_mean), static_cast<A>(gamma * invstd), static_cast<A>(beta)};
}

}  // namespace kiln::kernels::bn
