// CPU DisturbLabel / DisturbValue (contract: kernels/label_noise.h).
#include <algorithm>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/random_math.h"
#include "kernels/label_noise.h"
#include "kernels/label_noise_draws.h"

namespace kiln::kernels::cpu {

void disturb_label(const DisturbLabelArgs& a, const int64_t* labels, int64_t* out) {
  const uint64_t threshold = alpha_threshold(a.alpha);
  const uint64_t offset = a.offset.resolve();
  for (int64_t i = 0; i < a.n; ++i) {
    KILN_CHECK(labels[i] >= 0 && labels[i] < a.num_classes, "disturb_label: label ", labels[i], " of sample ",
               i, " is outside [0, ", a.num_classes, ")");
    out[i] = disturbed_label(a.seed, offset, i, labels[i], a.num_classes, threshold);
  }
}

template <typename T>
void disturb_value(const DisturbValueArgs& a, const T* targets, T* out) {
  const uint64_t offset = a.offset.resolve();
  std::vector<bool> noisy(static_cast<size_t>(a.n), false);
  if (a.selection == DisturbValueSelection::TutorialZeroing) {
    std::fill(noisy.begin(), noisy.end(), true);
    const int64_t draws = source_zeroed_draws(a.alpha, a.n);
    for (int64_t t = 0; t < draws; ++t) noisy[uniform_index(a.seed, offset, t, a.n)] = false;
  } else {
    // The k samples with the smallest (key, index) are corrupted: sort once, O(N log N).
    const int64_t k = disturbed_count(a.alpha, a.n);
    std::vector<std::pair<uint32_t, int64_t>> keyed(static_cast<size_t>(a.n));
    for (int64_t i = 0; i < a.n; ++i)
      keyed[i] = {philox::draw_u32(a.seed, offset, static_cast<uint64_t>(i)), i};
    std::sort(keyed.begin(), keyed.end());
    for (int64_t r = 0; r < k; ++r) noisy[keyed[r].second] = true;
  }
  for (int64_t i = 0; i < a.n; ++i)
    for (int64_t j = 0; j < a.width; ++j) {
      const int64_t e = i * a.width + j;
      T v = targets[e];
      if (noisy[i]) {
        const double z = philox::normal_double(a.seed, offset + 1, static_cast<uint64_t>(e));
        v = static_cast<T>(v + static_cast<T>(KILN_DMUL(a.sigma, z)));
      }
      out[e] = v;
    }
}

template void disturb_value<float>(const DisturbValueArgs&, const float*, float*);
template void disturb_value<double>(const DisturbValueArgs&, const double*, double*);

}  // namespace kiln::kernels::cpu
