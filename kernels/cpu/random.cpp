// CPU random fills: the same per-element formulas as the CUDA kernels (core/random_math.h).
#include <type_traits>

#include "core/random_math.h"
#include "kernels/cpu/parallel.h"
#include "kernels/random.h"

namespace kiln::kernels::cpu {

template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high) {
  const T lo = static_cast<T>(low), width = static_cast<T>(high - low);
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t b = 0; b < blocks; ++b) {
    const philox::U32x4 w = philox::draw_block(seed, offset, static_cast<uint64_t>(b));
    for (int k = 0; k < 4 && 4 * b + k < n; ++k) {
      T u;
      if constexpr (std::is_same_v<T, float>)
        u = philox::u32_to_unit_float(w.v[k]);
      else
        u = philox::u32_to_unit_double(w.v[k]);
      out[4 * b + k] = philox::scale_uniform(u, lo, width);
    }
  }
}

template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double stddev) {
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t b = 0; b < blocks; ++b) {
    double z[4];
    philox::normal_block(seed, offset, static_cast<uint64_t>(b), z);
    for (int k = 0; k < 4 && 4 * b + k < n; ++k)
      out[4 * b + k] = static_cast<T>(KILN_DADD(mean, KILN_DMUL(stddev, z[k])));
  }
}

void write_offset_cells(uint64_t* cells, const OffsetCells& v) {
  for (int i = 0; i < v.count; ++i) cells[i] = v.values[i];
}

template void fill_uniform<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_uniform<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<double>(double*, int64_t, uint64_t, uint64_t, double, double);

}  // namespace kiln::kernels::cpu
