// CPU row gather and scatter-add (see kernels/index.h).
#include <cstring>

#include "core/error.h"
#include "kernels/index.h"

namespace kiln::kernels::cpu {

namespace {
void check_index(int64_t idx, int64_t rows, int64_t position) {
  KILN_CHECK(idx >= 0 && idx < rows, "index_select: index ", idx, " at position ", position,
             " is out of range for ", rows, " rows");
}
}  // namespace

template <typename T>
void index_select_rows(const T* src, const int64_t* index, T* out, int64_t count, int64_t rows,
                       int64_t row_size) {
  for (int64_t i = 0; i < count; ++i) {
    check_index(index[i], rows, i);
    std::memcpy(out + i * row_size, src + index[i] * row_size, static_cast<size_t>(row_size) * sizeof(T));
  }
}

template <typename T>
void index_add_rows(const T* src, const int64_t* index, T* dst, int64_t count, int64_t rows,
                    int64_t row_size) {
  for (int64_t i = 0; i < count; ++i) {
    check_index(index[i], rows, i);
    T* d = dst + index[i] * row_size;
    const T* s = src + i * row_size;
    for (int64_t j = 0; j < row_size; ++j) d[j] += s[j];
  }
}

#define KILN_INSTANTIATE(T) \
  template void index_select_rows<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
KILN_INSTANTIATE(int64_t)
KILN_INSTANTIATE(uint8_t)
#undef KILN_INSTANTIATE
template void index_add_rows<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t);
template void index_add_rows<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t);

}  // namespace kiln::kernels::cpu
