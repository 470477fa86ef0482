// CPU pooling (contract: kernels/pooling.h): plain loops over independent planes.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/pooling.h"

namespace kiln::kernels::cpu {

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax) {
  const int64_t P = s.p(), Q = s.q();
#pragma omp parallel for schedule(static) if (s.planes * s.h * s.w > kParallelGrain)
  for (int64_t pl = 0; pl < s.planes; ++pl) {
    const T* in = x + pl * s.h * s.w;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        const int64_t h0 = p * s.stride_h - s.pad_h, w0 = q * s.stride_w - s.pad_w;
        T best = T(0);
        int32_t best_i = -1;
        for (int64_t i = std::max<int64_t>(h0, 0); i < std::min(h0 + s.kh, s.h); ++i)
          for (int64_t j = std::max<int64_t>(w0, 0); j < std::min(w0 + s.kw, s.w); ++j) {
            const T v = in[i * s.w + j];
            // First maximum wins; NaN propagates (as PyTorch).
            if (best_i < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
              best = v;
              best_i = static_cast<int32_t>(i * s.w + j);
            }
          }
        y[(pl * P + p) * Q + q] = best;
        argmax[(pl * P + p) * Q + q] = best_i;
      }
  }
}

template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx) {
  const int64_t P = s.p(), Q = s.q();
#pragma omp parallel for schedule(static) if (s.planes * s.h * s.w > kParallelGrain)
  for (int64_t pl = 0; pl < s.planes; ++pl) {
    T* out = dx + pl * s.h * s.w;
    std::fill(out, out + s.h * s.w, T(0));
    const T* g = dy + pl * P * Q;
    const int32_t* a = argmax + pl * P * Q;
    for (int64_t i = 0; i < P * Q; ++i) out[a[i]] += g[i];
  }
}

namespace {
inline int64_t window_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
inline int64_t window_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }
}  // namespace

template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* x,
                                 T* y) {
#pragma omp parallel for schedule(static) if (planes * h * w > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t i = 0; i < p; ++i)
      for (int64_t j = 0; j < q; ++j) {
        const int64_t h0 = window_start(i, h, p), h1 = window_end(i, h, p);
        const int64_t w0 = window_start(j, w, q), w1 = window_end(j, w, q);
        double acc = 0;
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) acc += x[(pl * h + a) * w + b];
        y[(pl * p + i) * q + j] = static_cast<T>(acc / double((h1 - h0) * (w1 - w0)));
      }
}

template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* dy,
                                  T* dx) {
#pragma omp parallel for schedule(static) if (planes * h * w > kParallelGrain)
  for (int64_t pl = 0; pl < planes; ++pl) {
    T* out = dx + pl * h * w;
    std::fill(out, out + h * w, T(0));
    for (int64_t i = 0; i < p; ++i)
      for (int64_t j = 0; j < q; ++j) {
        const int64_t h0 = window_start(i, h, p), h1 = window_end(i, h, p);
        const int64_t w0 = window_start(j, w, q), w1 = window_end(j, w, q);
        const T g = dy[(pl * p + i) * q + j] / static_cast<T>((h1 - h0) * (w1 - w0));
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) out[a * w + b] += g;
      }
  }
}

#define KILN_INSTANTIATE(T)                                                                                \
  template void max_pool2d_forward<T>(const Pool2dShape&, const T*, T*, int32_t*);                         \
  template void max_pool2d_backward<T>(const Pool2dShape&, const T*, const int32_t*, T*);                  \
  template void adaptive_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*); \
  template void adaptive_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
