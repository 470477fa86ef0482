// CPU reductions over the middle axis of [outer, n, inner] (see kernels/reduce.h).
#include <cmath>
#include <vector>

#include "kernels/reduce.h"

namespace kiln::kernels::cpu {

namespace {
// float sums accumulate in double: the CPU reference should not be the noisy side of a
// comparison. double sums accumulate in double.
template <typename T>
struct Acc {
  using type = double;
};
}  // namespace

template <typename T>
void sum_mid(const T* in, T* out, int64_t outer, int64_t n, int64_t inner) {
  using A = typename Acc<T>::type;
  std::vector<A> acc(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), A(0));
    const T* base = in + o * n * inner;
    for (int64_t r = 0; r < n; ++r) {
      const T* row = base + r * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] += static_cast<A>(row[i]);
    }
    for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = static_cast<T>(acc[i]);
  }
}

template <typename T>
void max_mid(const T* in, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = in + o * n * inner + i;
      T best = p[0];
      int64_t best_idx = 0;
      for (int64_t r = 1; r < n && !std::isnan(best); ++r) {
        const T v = p[r * inner];
        if (v > best || std::isnan(v)) {
          best = v;
          best_idx = r;
        }
      }
      if (values) values[o * inner + i] = best;
      if (indices) indices[o * inner + i] = best_idx;
    }
  }
}

template <typename T>
int64_t count_nonfinite(const T* in, int64_t n) {
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(in[i]);
  return bad;
}

template void sum_mid<float>(const float*, float*, int64_t, int64_t, int64_t);
template void sum_mid<double>(const double*, double*, int64_t, int64_t, int64_t);
template void max_mid<float>(const float*, float*, int64_t*, int64_t, int64_t, int64_t);
template void max_mid<double>(const double*, double*, int64_t*, int64_t, int64_t, int64_t);
template int64_t count_nonfinite<float>(const float*, int64_t);
template int64_t count_nonfinite<double>(const double*, int64_t);

}  // namespace kiln::kernels::cpu
