// CPU random fills: the same per-element formulas as the CUDA kernels (core/random_math.h).
#include <type_traits>

#include "core/random_math.h"
#include "kernels/random.h"

namespace kiln::kernels::cpu {

template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double low, double high) {
  const T lo = static_cast<T>(low), width = static_cast<T>(high - low);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t w = philox::draw_u32(seed, offset, static_cast<uint64_t>(i));
    T u;
    if constexpr (std::is_same_v<T, float>) u = philox::u32_to_unit_float(w);
    else u = philox::u32_to_unit_double(w);
    out[i] = philox::scale_uniform(u, lo, width);
  }
}

template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double stddev) {
  for (int64_t i = 0; i < n; ++i) {
    const double z = philox::normal_double(seed, offset, static_cast<uint64_t>(i));
    out[i] = static_cast<T>(KILN_DADD(mean, KILN_DMUL(stddev, z)));
  }
}

template void fill_uniform<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_uniform<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<double>(double*, int64_t, uint64_t, uint64_t, double, double);

}  // namespace kiln::kernels::cpu
