// Contract of the label-noise kernels (regularisers that corrupt targets, not inputs).
//
// DisturbLabel (Xie et al., CVPR 2016): each label independently keeps its class with
// probability p_c = 1 - (C-1)/C * alpha and becomes each other class with p_i = alpha/C,
// (alpha here a fraction). Drawn as: with probability alpha replace the label by a class
// uniform over all C (which may be the same class) — the same distribution. Sample i uses
// Philox words 0 and 1 of block i of op `offset`: replace iff word0 < alpha * 2^32, new class
// = (word1 * C) >> 32 (multiply-shift, exact integer arithmetic, identical on every device).
//
// DisturbValue (Kim et al. 2021, arXiv 2110.05003): exactly round(alpha * N) distinct samples
// of the batch get N(0, sigma^2) noise added to every target value. Selection: sample i
// draws key_i = Philox word of element i of op `offset`; the k samples of smallest
// (key_i, i) are chosen (a uniformly random k-subset). Noise for element j of the targets
// is the normal draw j of op `offset + 1` (core/random_math.h). Uses two generator offsets.
//
// Tutorial protocol (the tutorial's noise_generator): noise_j ~ N(0, sigma^2) for every
// element (normal draw j of op `offset + 1`), then int(N * (1 - alpha)) sample indices drawn
// WITH replacement (index t = (word_t * N) >> 32 of op `offset`) have their noise zeroed.
// Targets are [N, T] row-major; all kernels write `out` (may alias `targets`).
#pragma once

#include <cstdint>

#include "core/philox_offset.h"

namespace kiln::kernels {

struct DisturbLabelArgs {
  int64_t n = 0, num_classes = 0;
  double alpha = 0.0;  // fraction in [0, 1]
  uint64_t seed = 0;
  PhiloxOffset offset;
};

// Which samples of a batch DisturbValue noises: exactly round(alpha * N) distinct ones (the
// method as published), or the tutorial's draw (noise for all, then int(N * (1 - alpha))
// samples drawn with replacement get theirs zeroed).
enum class DisturbValueSelection : uint8_t { ExactCount, TutorialZeroing };

struct DisturbValueArgs {
  int64_t n = 0, width = 1;  // targets [n, width]
  double alpha = 0.0;        // fraction in [0, 1]
  double sigma = 0.0;
  DisturbValueSelection selection = DisturbValueSelection::ExactCount;
  uint64_t seed = 0;
  PhiloxOffset offset;  // uses offset and offset + 1
};

namespace cpu {
void disturb_label(const DisturbLabelArgs& a, const int64_t* labels, int64_t* out);
template <typename T>
void disturb_value(const DisturbValueArgs& a, const T* targets, T* out);
}  // namespace cpu

namespace cuda {
void disturb_label(const DisturbLabelArgs& a, const int64_t* labels, int64_t* out);
template <typename T>
void disturb_value(const DisturbValueArgs& a, const T* targets, T* out);
}  // namespace cuda

}  // namespace kiln::kernels
